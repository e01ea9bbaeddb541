using System.Net.Sockets;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// Debian's ejabberd 23.01, started for one test: loopback only, free ports, config, Mnesia spool, contributed
/// modules and log in a temp dir; the same domains, MUC service and accounts as <see cref="ProsodyServer"/>, and the
/// operator's snippet (from <c>imlogger server-config --out</c>) included exactly as generated.
/// </summary>
/// <remarks>
/// Started as <c>erl -s ejabberd</c> with the environment <c>ejabberdctl foreground</c> sets, but without Erlang
/// distribution: <c>ejabberdctl</c> needs a node name, epmd and the cookie of the ejabberd system user (it su's to
/// it), none of which a throw-away server on a shared test machine should touch. Accounts are registered inside the
/// node once it has started, with <c>ejabberd_auth:try_register/3</c>, the call <c>ejabberdctl register</c> makes.
/// </remarks>
internal sealed partial class EjabberdServer : IXmppServer
{
    private const string ReadyMarker = "imlogger-fixture: accounts registered";

    /// <summary>Emulator flags (ERL_FLAGS) for every Erlang VM a test starts: this server, and erlc in the module's
    /// build.sh. Its schedulers go to sleep as soon as they run out of work instead of spinning for it first.</summary>
    /// <remarks>
    /// Spinning only pays on cores the VM has to itself. On a test machine shared by the whole parallel suite it takes
    /// CPU from the other fixtures' servers and clients, and slows the VM's own start. Measured on 2 cores, two default
    /// and two flagged starts side by side (same config, fresh spool, until "accounts registered"), three rounds:
    /// default 21-30 s and 2.9-3.0 s of CPU, flagged 10-21 s and 2.2-2.7 s (load average 25-36); in a round beside a
    /// running suite (load 38) default 224-233 s and 4.1-4.4 s, flagged 31 s and 2.5-2.7 s (three ejabberd cases of that
    /// suite run failed their 60 s start deadline). Production ejabberd is not affected: only this fixture
    /// sets them.
    /// </remarks>
    public const string ErlangFlags = "+sbwt none +sbwtdcpu none +sbwtdio none";
    private readonly string[] _users;
    private ProcessRunner? _process;

    private EjabberdServer(string dir, string? include, string[] users)
    {
        Dir = dir;
        Include = include;
        _users = users;
        C2sPort = Paths.FreePort();
        ComponentPort = Paths.FreePort();
    }

    public string Name => "ejabberd";
    public string Dir { get; }
    public string? Include { get; }
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public string LogFile => Path.Combine(Dir, "ejabberd.log");
    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";
    public string ConfigPath => Path.Combine(Dir, "ejabberd.yml");

    /// <summary>Where contributed modules are installed (CONTRIB_MODULES_PATH): each in NAME/ebin.</summary>
    public string ModulesDir => Path.Combine(Dir, "ejabberd-modules");

    /// <summary>Writes the config; call <see cref="StartAsync"/> once the include file and the module exist.</summary>
    public static EjabberdServer Prepare(string dir, string? include, params string[] users)
    {
        if (!File.Exists("/usr/sbin/ejabberdctl") || !File.Exists("/usr/bin/erl"))
            Assert.Fail("Debian's ejabberd is not installed: run the test command from the README (./imlogger.sh test), which installs it.");
        var server = new EjabberdServer(dir, include, users);
        Directory.CreateDirectory(server.ModulesDir);
        File.WriteAllText(server.ConfigPath, server.Config());
        return server;
    }

    /// <summary>Rooms keep ejabberd's default (semi-anonymous: only moderators see real JIDs) instead of showing every
    /// occupant's real JID; call before <see cref="StartAsync"/>.</summary>
    public void UseSemiAnonymousRooms()
    {
        _semiAnonymous = true;
        File.WriteAllText(ConfigPath, Config());
    }

    private bool _semiAnonymous;

    /// <summary>Loads mod_stream_mgmt (XEP-0198 with resumption); call before <see cref="StartAsync"/>.</summary>
    public void UseStreamManagement()
    {
        _streamManagement = true;
        File.WriteAllText(ConfigPath, Config());
    }

    private bool _streamManagement;

    private string Config() => $$"""
        # A throw-away ejabberd for one test: loopback, no TLS (plain authentication), accounts in Mnesia.
        hosts:
        {{string.Join("\n", Hosts.Select(h => $"  - \"{h}\""))}}
        loglevel: info
        log_rotate_count: 0
        hide_sensitive_log_data: true
        certfiles: []
        auth_method: [internal]
        auth_password_format: plain
        {{S2sOptions}}
        listen:
          -
            port: {{C2sPort}}
            ip: "127.0.0.1"
            module: ejabberd_c2s
            starttls: false
            max_stanza_size: 262144
        {{S2sListener}}
        acl:
          local:
            user_regexp: ""
        access_rules:
          local:
            allow: local
          c2s:
            allow: all
          muc_create:
            allow: local
          pubsub_createnode:
            allow: local
        modules:
          mod_caps: {}
          mod_carboncopy: {}
          mod_disco: {}
          mod_last: {}
          mod_muc:
            host: "conference.@HOST@"
            access_create: muc_create
            default_room_options:
              anonymous: {{(_semiAnonymous ? "true" : "false")}}
          mod_offline: {}
          mod_ping: {}
          mod_private: {}
          mod_pubsub:
            plugins: ["flat", "pep"]
          mod_roster: {}
        {{(_streamManagement ? "  mod_stream_mgmt: {}" : "")}}
        {{S2sModules}}
          mod_vcard: {}
          mod_version: {}
        {{(Include == null ? "" : $"include_config_file: \"{Include}\"")}}
        """;

    public async Task StartAsync()
    {
        var register = string.Join(", ", _users.Select(u =>
        {
            var (node, host) = u.Contains('@') ? (u[..u.IndexOf('@')], u[(u.IndexOf('@') + 1)..]) : (u, ProsodyServer.Domain);
            // Started again on the same spool (a restart drill, a changed config): the accounts are there already.
            return $"true = lists:member(ejabberd_auth:try_register(<<\"{node}\">>, <<\"{host}\">>, <<\"{ProsodyServer.Password}\">>), [ok, {{error, exists}}])";
        }));
        File.Delete(StopFile); // started again in the same dir: the last stop's request is done
        EjabberdTranslationCache.Seed(MnesiaDir);
        var eval = $"{(register.Length == 0 ? "" : register + ", ")}{StopWatcher}, io:format(\"{ReadyMarker}~n\").";
        string[] erl = ["-noinput", "+K", "true", "-mnesia", "dir", $"\"{MnesiaDir}\"", "-s", "ejabberd", "-eval", eval];
        var (program, args) = WithOwnHostsFile("/usr/bin/erl", erl);
        _process = ProcessRunner.Start("ejabberd", program, args,
            new Dictionary<string, string>
            {
                ["EJABBERD_CONFIG_PATH"] = ConfigPath,
                ["EJABBERD_LOG_PATH"] = LogFile,
                ["ERL_LIBS"] = "/usr/lib/x86_64-linux-gnu",
                ["CONTRIB_MODULES_PATH"] = ModulesDir,
                ["ERL_CRASH_DUMP"] = Path.Combine(Dir, "erl_crash.dump"),
                ["HOME"] = Dir,
                ["ERL_FLAGS"] = ErlangFlags,
            },
            workDir: Dir);
        try
        {
            await _process.WaitForLineAsync(l => l.Contains(ReadyMarker, StringComparison.Ordinal), TimeSpan.FromSeconds(60), "ejabberd started");
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"ejabberd did not start. {e.Message}\nIts log:\n{Log}");
        }
        EjabberdTranslationCache.Keep(MnesiaDir);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        foreach (var port in ListeningPorts())
        {
            while (true)
            {
                if (_process.HasExited) Assert.Fail($"ejabberd exited at start. Its log:\n{Log}\n{_process.Output}");
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    // The component port is opened by the included snippet (its listen entry): only waited for when there is one.
    private IEnumerable<int> ListeningPorts() => Include != null && File.Exists(Include) && File.ReadAllText(Include).Contains("ejabberd_service", StringComparison.Ordinal)
        ? [C2sPort, ComponentPort]
        : [C2sPort];

    /// <summary>Waits until ejabberd's log holds <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"ejabberd did not log \"{text}\" within {timeout.TotalSeconds:0} s; its log:\n{Log}");
            await Task.Delay(100);
        }
    }

    public async Task StopAsync()
    {
        if (_process == null) return;
        var process = _process;
        _process = null;
        // A server that does not stop in time fails the test, and is still killed (-9, by the runner's dispose): a hung
        // server left behind would hold its ports and a core for the rest of the run.
        try
        {
            await File.WriteAllTextAsync(StopFile, "");
            await process.WaitForExitAsync(TimeSpan.FromSeconds(20));
        }
        finally { await process.DisposeAsync(); }
    }

    private string StopFile => Path.Combine(Dir, "stop-requested");

    private string MnesiaDir => Path.Combine(Dir, "spool");

    // How StopAsync stops the node: once the file appears, ejabberd then Mnesia are stopped (the listeners and sessions
    // closed, every table written and closed, as SIGTERM's init:stop() does first), the log handlers write out what they
    // hold, and the VM halts. SIGTERM would do the same and then spend about a second more in init's own shutdown
    // (measured: 1.07-1.27 s from SIGTERM to exit, 0.18-0.33 s this way, same config, load 5-10), in every ejabberd case.
    // SIGTERM (an operator's stop) still works as before; a file polled every 50 ms costs nothing.
    private string StopWatcher => "spawn(fun W() -> case filelib:is_file(\"" + StopFile + "\") of "
        + "true -> application:stop(ejabberd), application:stop(mnesia), "
        + "[catch logger_std_h:filesync(H) || H <- logger:get_handler_ids()], erlang:halt(0); "
        + "false -> timer:sleep(50), W() end end)";

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
            TestContext.Out.WriteLine($"--- ejabberd.log ---\n{Log}");
    }
}

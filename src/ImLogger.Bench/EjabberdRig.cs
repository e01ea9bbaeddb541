using System.Diagnostics;

namespace ImLogger.Bench;

/// <summary>
/// Debian's ejabberd 23.01 on loopback for one benchmark column, set up as the integration tests' EjabberdServer does:
/// a temp dir for config, Mnesia spool, contributed modules and log, no Erlang distribution (no epmd, no cookie),
/// warnings-only logging, accounts registered inside the node once it has started (what <c>ejabberdctl register</c> calls).
/// </summary>
internal sealed class EjabberdRig : IBenchServer
{
    private const string ReadyMarker = "imlogger-bench: accounts registered";
    private readonly string[] _users;
    private Process? _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private EjabberdRig(string dir, string[] users)
    {
        Dir = dir;
        _users = users;
        C2sPort = BenchContext.FreePort();
        ComponentPort = BenchContext.FreePort();
    }

    public string Dir { get; }
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");
    public string LogFile => Path.Combine(Dir, "ejabberd.log");

    /// <summary>Where <c>build.sh</c> (written by server-config) installs the module: CONTRIB_MODULES_PATH.</summary>
    public string ModulesDir => Path.Combine(Dir, "ejabberd-modules");

    public static bool Installed => File.Exists("/usr/sbin/ejabberdctl") && File.Exists("/usr/bin/erl");

    public static EjabberdRig Prepare(string dir, params string[] users)
    {
        if (!Installed) throw new InvalidOperationException("Debian's ejabberd is not installed (apt-get install ejabberd erlang-dev); or run the bench with --no-ejabberd");
        var rig = new EjabberdRig(dir, users);
        Directory.CreateDirectory(rig.ModulesDir);
        return rig;
    }

    public async Task StartAsync(string? include, bool nagle)
    {
        var config = Path.Combine(Dir, "ejabberd.yml");
        File.WriteAllText(config, $$"""
            hosts:
              - "{{ProsodyRig.Domain}}"
            loglevel: warning
            log_rotate_count: 0
            hide_sensitive_log_data: true
            certfiles: []
            auth_method: [internal]
            auth_password_format: plain
            s2s_access: none
            listen:
              -
                port: {{C2sPort}}
                ip: "127.0.0.1"
                module: ejabberd_c2s
                starttls: false
                max_stanza_size: 262144
            acl:
              local:
                user_regexp: ""
            access_rules:
              local:
                allow: local
              c2s:
                allow: all
            modules:
              mod_disco: {}
              mod_ping: {}
              mod_roster: {}
            {{(include == null ? "" : $"include_config_file: \"{include}\"")}}
            """);
        var register = string.Join(", ", _users.Select(u =>
            $"true = lists:member(ejabberd_auth:try_register(<<\"{u}\">>, <<\"{ProsodyRig.Domain}\">>, <<\"{ProsodyRig.Password}\">>), [ok, {{error, exists}}])"));
        var psi = new ProcessStartInfo("/usr/bin/erl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = Dir };
        foreach (var a in new[] { "-noinput", "+K", "true", "-mnesia", "dir", $"\"{Path.Combine(Dir, "spool")}\"", "-s", "ejabberd", "-eval", $"{register}, io:format(\"{ReadyMarker}~n\")." })
            psi.ArgumentList.Add(a);
        psi.Environment["EJABBERD_CONFIG_PATH"] = config;
        psi.Environment["EJABBERD_LOG_PATH"] = LogFile;
        psi.Environment["ERL_LIBS"] = "/usr/lib/x86_64-linux-gnu";
        psi.Environment["CONTRIB_MODULES_PATH"] = ModulesDir;
        psi.Environment["ERL_CRASH_DUMP"] = Path.Combine(Dir, "erl_crash.dump");
        psi.Environment["HOME"] = Dir;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!_output.Any(l => l.Contains(ReadyMarker, StringComparison.Ordinal)))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"ejabberd did not start; see {LogFile}\n{string.Join('\n', _output)}");
            await Task.Delay(100);
        }
        await BenchContext.WaitForPortAsync(C2sPort, TimeSpan.FromSeconds(20), () => _process.HasExited ? $"ejabberd exited; see {LogFile}" : null);
        if (include != null)
            await BenchContext.WaitForPortAsync(ComponentPort, TimeSpan.FromSeconds(20), () => _process.HasExited ? $"ejabberd exited; see {LogFile}" : null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            BenchContext.Signal(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(); }
        }
        _process?.Dispose();
    }
}

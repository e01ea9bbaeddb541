using System.Net.Sockets;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// Debian's Prosody, started for one test: loopback only, free ports, everything in a temp dir,
/// accounts written as internal_plain files, MUC at conference.example.test on Prosody's defaults (semi-anonymous rooms),
/// and the operator's
/// tap config (from <c>imlogger prosody-config --out</c>) included exactly as generated.
/// </summary>
internal sealed partial class ProsodyServer : IXmppServer
{
    public const string Domain = "example.test";
    public const string Muc = "conference.example.test";
    /// <summary>A second organization's domain on the same server.</summary>
    public const string Partner = "partner.test";
    public const string Password = "pw";

    private ProcessRunner? _process;

    private ProsodyServer(string dir, string? include)
    {
        Dir = dir;
        Include = include;
        C2sPort = Paths.FreePort();
        ComponentPort = Paths.FreePort();
    }

    public string Name => "prosody";
    public string Dir { get; }
    public string? Include { get; }
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public string LogFile => Path.Combine(Dir, "prosody.log");
    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    /// <summary>Writes the config and accounts; call <see cref="StartAsync"/> once the include file exists.</summary>
    public static ProsodyServer Prepare(string dir, string? include, params string[] users)
    {
        if (!File.Exists("/usr/bin/prosody"))
            Assert.Fail("Debian's prosody is not installed: run the test command from the README (./imlogger.sh test), which installs it.");
        var server = new ProsodyServer(dir, include);
        Directory.CreateDirectory(Path.Combine(dir, "certs"));
        foreach (var user in users)
        {
            // "alice" is alice@example.test; "erin@partner.test" names its domain.
            var (node, host) = user.Contains('@') ? (user[..user.IndexOf('@')], user[(user.IndexOf('@') + 1)..]) : (user, Domain);
            var accounts = Path.Combine(dir, "data", host.Replace(".", "%2e"), "accounts");
            Directory.CreateDirectory(accounts);
            File.WriteAllText(Path.Combine(accounts, $"{node}.dat"), $"return {{\n\t[\"password\"] = \"{Password}\";\n}};\n");
        }
        File.WriteAllText(server.ConfigPath, server.Config());
        return server;
    }

    public string ConfigPath => Path.Combine(Dir, "prosody.cfg.lua");

    /// <summary>Rooms show every occupant's real JID (set by <see cref="UsePublicJids"/>); false: Prosody's default,
    /// semi-anonymous rooms.</summary>
    public bool PublicJids { get; private set; }

    /// <summary>Non-anonymous rooms by default, for the tests that are about something else than hidden JIDs (tap mode
    /// cannot learn a hidden JID at all); call before <see cref="StartAsync"/>.</summary>
    public void UsePublicJids()
    {
        PublicJids = true;
        File.WriteAllText(ConfigPath, Config());
    }

    /// <summary>The XEP-0363 upload service (Prosody's mod_http_file_share), once <see cref="UseHttpUpload"/> was called.</summary>
    public const string Upload = "upload.example.test";

    /// <summary>Prosody's HTTP port on loopback, when <see cref="UseHttpUpload"/> was called (otherwise no HTTP at all).</summary>
    public int? HttpPort { get; private set; }

    /// <summary>Serves HTTP upload (<see cref="Upload"/>) on a free loopback port; call while Prosody is stopped.</summary>
    public void UseHttpUpload()
    {
        HttpPort = Paths.FreePort();
        File.WriteAllText(ConfigPath, Config());
    }

    // The sandbox's global section turns HTTP off; set again before the first host, these replace it.
    private string HttpGlobal() => HttpPort is not { } port ? "" : $$"""

        http_ports = { {{port}} }
        http_interfaces = { "127.0.0.1" }
        """;

    private string HttpUploadComponent() => HttpPort == null ? "" : $$"""

        Component "{{Upload}}" "http_file_share"
        	http_file_share_size_limit = 1048576
        """;

    private string Config() => WithS2s(WithExtraModules(ImLogger.ServerRules.ProsodySandbox.GlobalSection(Dir, C2sPort, ComponentPort, "debug"))) + HttpGlobal() + $$"""

        VirtualHost "{{Domain}}"

        VirtualHost "{{Partner}}"

        Component "{{Muc}}" "muc"
        	muc_room_locking = false
        {{(PublicJids ? "\tmuc_room_default_public_jids = true" : "")}}
        {{HttpUploadComponent()}}

        {{(Include == null ? "" : $"Include \"{Include}\"")}}
        """;

    public async Task StartAsync()
    {
        _process = ProcessRunner.Start("prosody", "/usr/bin/prosody", ["-F", "--config", ConfigPath]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        foreach (var port in _peer ? [C2sPort] : new[] { C2sPort, ComponentPort })
        {
            while (true)
            {
                if (_process.HasExited)
                    Assert.Fail($"Prosody exited at start. Its log:\n{Log}\n{_process.Output}");
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

    /// <summary>Sends SIGHUP (what <c>prosodyctl reload</c> does) and waits until the log shows <paramref name="marker"/>
    /// once more than before (for example mod_firewall's "Loaded /path/imlogger.pfw").</summary>
    public async Task ReloadAsync(string marker, TimeSpan timeout)
    {
        int Count() => Log.Split(marker).Length - 1;
        var before = Count();
        using (var kill = System.Diagnostics.Process.Start("kill", ["-HUP", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        var deadline = DateTime.UtcNow + timeout;
        while (Count() <= before)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Prosody did not log '{marker}' after SIGHUP within {timeout}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until Prosody's log holds <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Prosody did not log \"{text}\" within {timeout.TotalSeconds:0} s; its log:\n{Log}");
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
        try { await process.TerminateAsync(TimeSpan.FromSeconds(15)); }
        finally { await process.DisposeAsync(); }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
            TestContext.Out.WriteLine($"--- prosody.log ---\n{Log}");
    }
}

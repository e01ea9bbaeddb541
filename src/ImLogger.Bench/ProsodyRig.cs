using System.Diagnostics;
using System.Net.Sockets;

namespace ImLogger.Bench;

/// <summary>How the server is set up for one column of the load table.</summary>
/// <param name="Name">Column name.</param>
/// <param name="WithImLogger">Whether the real <c>imlogger run</c> is attached.</param>
/// <param name="Include">Writes what Prosody must include for this mode into the given directory (null: nothing);
/// returns the file to include.</param>
/// <param name="Attach">The ImLogger config's &lt;attach&gt; element (inline mode), or null for tap mode.</param>
/// <param name="Server">"prosody" or "ejabberd": the XMPP server of the column.</param>
/// <param name="Floor">The component is <see cref="FloorComponent"/> (answers allow at once, stores nothing) instead of imlogger.</param>
internal sealed record ServerMode(string Name, bool WithImLogger, Func<BenchContext, string, Task<string?>>? Include, string? Attach = null, string Server = "prosody",
    bool Floor = false);

/// <summary>
/// Debian's Prosody on loopback for one benchmark column: free ports, a temp dir, two accounts, warnings-only
/// logging (a debug log would dominate Prosody's CPU), plain SASL allowed as in the integration tests.
/// </summary>
internal sealed class ProsodyRig : IBenchServer
{
    public const string Domain = "example.test";
    public const string Password = "pw";
    private Process? _process;

    private ProsodyRig(string dir)
    {
        Dir = dir;
        C2sPort = BenchContext.FreePort();
        ComponentPort = BenchContext.FreePort();
    }

    public string Dir { get; }
    public int C2sPort { get; }
    public int ComponentPort { get; }
    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");
    public string LogFile => Path.Combine(Dir, "prosody.log");

    public static ProsodyRig Prepare(string dir, params string[] users)
    {
        var rig = new ProsodyRig(dir);
        Directory.CreateDirectory(Path.Combine(dir, "certs"));
        var accounts = Path.Combine(dir, "data", Domain.Replace(".", "%2e"), "accounts");
        Directory.CreateDirectory(accounts);
        foreach (var user in users)
            File.WriteAllText(Path.Combine(accounts, $"{user}.dat"), $"return {{\n\t[\"password\"] = \"{Password}\";\n}};\n");
        return rig;
    }

    /// <param name="include">A config file to include (the mode's component and rules), or null.</param>
    /// <param name="nagle">Prosody's default keeps Nagle's algorithm on its sockets; with the receiver's delayed ACKs that
    /// puts ~40 ms steps into the latency of every mode alike, hiding what the component adds.</param>
    public async Task StartAsync(string? include, bool nagle)
    {
        File.WriteAllText(Path.Combine(Dir, "prosody.cfg.lua"), ImLogger.ServerRules.ProsodySandbox.GlobalSection(Dir, C2sPort, ComponentPort, Environment.GetEnvironmentVariable("IMLOGGER_BENCH_PROSODY_LOG") ?? "warn") + $$"""
            {{(nagle ? "" : "network_settings = { nagle = false }")}}

            VirtualHost "{{Domain}}"

            {{(include == null ? "" : $"Include \"{include}\"")}}
            """);
        var psi = new ProcessStartInfo("/usr/bin/prosody") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-F", "--config", Path.Combine(Dir, "prosody.cfg.lua") }) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await BenchContext.WaitForPortAsync(C2sPort, TimeSpan.FromSeconds(20), () => _process.HasExited ? $"Prosody exited; see {LogFile}" : null);
        // Prosody opens its component port only when a Component is declared (the include does).
        if (include != null)
            await BenchContext.WaitForPortAsync(ComponentPort, TimeSpan.FromSeconds(20), () => _process.HasExited ? $"Prosody exited; see {LogFile}" : null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            BenchContext.Signal(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(); }
        }
        _process?.Dispose();
    }
}

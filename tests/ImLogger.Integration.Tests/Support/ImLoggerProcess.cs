using System.Text.RegularExpressions;

namespace ImLogger.Integration.Tests.Support;

/// <summary>The real <c>imlogger</c> program in its own process, so a test can kill it like a crash would.</summary>
internal static partial class ImLoggerProcess
{
    public const string SecretVariable = "IMLOGGER_COMPONENT_SECRET";

    public static ProcessRunner Start(string name, IDictionary<string, string> env, params string[] args)
    {
        var all = new Dictionary<string, string>(env) { ["IMLOGGER_LOG_LEVEL"] = env.TryGetValue("IMLOGGER_LOG_LEVEL", out var level) ? level : "Debug", ["DOTNET_NOLOGO"] = "1" };
        return ProcessRunner.Start(name, "dotnet", [Paths.ImLoggerDll, .. args], all);
    }

    /// <summary>Starts <c>imlogger run</c> on a config.</summary>
    /// <param name="configPath">The config file.</param>
    /// <param name="secret">The component secret, passed in the environment.</param>
    /// <param name="name">The prefix of its output lines.</param>
    /// <param name="logLevel">Debug unless given: the drills under load run at Info, as in production (a debug line per stanza on
    /// the console costs more than the stanza).</param>
    public static ProcessRunner Run(string configPath, string secret, string name = "imlogger", string logLevel = "Debug") =>
        Start(name, new Dictionary<string, string> { [SecretVariable] = secret, ["IMLOGGER_LOG_LEVEL"] = logLevel }, "run", "--config", configPath, "--log-config", Paths.NLogConfig);

    /// <summary>Runs a short command (prosody-config, check-config) to completion.</summary>
    public static async Task<(int Code, string Output)> CommandAsync(string secret, params string[] args)
    {
        await using var p = Start(args[0], new Dictionary<string, string> { [SecretVariable] = secret }, args);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (code, p.Output);
    }

    public static Task<string> WaitConnectedAsync(ProcessRunner p) =>
        p.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the component connected");

    /// <summary>Waits until the component reports at least <paramref name="events"/> events durably spooled.</summary>
    /// <summary>Waits for the line saying at least <paramref name="events"/> events were spooled since start.</summary>
    /// <param name="p">The running imlogger.</param>
    /// <param name="events">How many events.</param>
    /// <param name="within">How long to wait at most (30 s by default): a bound against a hang, not a speed check; a test
    /// that spools tens of thousands of events on a loaded machine passes a longer one.</param>
    public static Task<string> WaitSpooledAsync(ProcessRunner p, int events, TimeSpan? within = null) =>
        p.WaitForLineAsync(l => SpooledTotal().Match(l) is { Success: true } m && int.Parse(m.Groups[1].Value) >= events,
            within ?? TimeSpan.FromSeconds(30), $"{events} events spooled");

    [GeneratedRegex(@"Spooled \d+ events \((\d+) since start\)")]
    private static partial Regex SpooledTotal();
}

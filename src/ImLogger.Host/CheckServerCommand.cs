using ImLogger.Config;

namespace ImLogger.Host;

/// <summary>
/// <c>imlogger check-server --config FILE</c>: for monitoring. Asks the running service whether the server side
/// (mod_imlogger_inline, or the tap rules) is loaded and current on every organization domain.
/// </summary>
/// <remarks>Exit codes: 0 all domains answer (or are within their first deadline after a connect), with one "ok" line
/// per domain; 1 one line per problem (a domain silent or running an older config's rules, or ImLogger not connected
/// to the server); 2 <c>imlogger run</c> is not running for this config, so nothing is logged (with a second line saying what the
/// component port answers: a missing Include, the wrong port, nothing listening).</remarks>
internal static partial class CheckServerCommand
{
    public static int Run(Terminal terminal, RunningService? running, ImLoggerConfig? config = null)
    {
        if (running?.Watch is not { } watch)
        {
            terminal.Out.WriteLine("PROBLEM: imlogger run is not running for this config (no control socket beside the spool): nothing is being logged; start the service");
            if (config != null) terminal.Out.WriteLine($"PROBLEM: {Probe(config)}");
            return 2;
        }
        var statuses = watch.Check();
        var problems = statuses.Where(s => !s.Healthy).ToList();
        foreach (var problem in problems) terminal.Out.WriteLine($"PROBLEM: {problem.Text}");
        if (problems.Count > 0) return 1;
        foreach (var status in statuses) terminal.Out.WriteLine($"ok: {status.Text}");
        return 0;
    }

    /// <summary>The lines <c>imlogger report</c> starts with: problems first, then what is fine.</summary>
    public static IEnumerable<string> ReportLines(RunningService? running)
    {
        if (running?.Watch is not { } watch)
        {
            yield return "NOT RUNNING: imlogger run is not running for this config, so nothing is being logged now (this report reads the spool file)";
            yield break;
        }
        var statuses = watch.Check();
        foreach (var s in statuses.Where(s => !s.Healthy)) yield return $"PROBLEM: {s.Text}";
        foreach (var s in statuses.Where(s => s.Healthy)) yield return $"server side ok: {s.Text}";
    }

    /// <summary>A configured user's state in <c>report</c>: "logging active" once the server side holds them, else why not yet
    /// (a reload the server has not taken, a server side that never answered).</summary>
    public static string Logging(RunningService? running, string jid) => running?.Watch?.NotInForce(jid) ?? "logging active";
}

using ImLogger.Config;
using ImLogger.Spool;

namespace ImLogger.Host;

/// <summary><c>imlogger spool salvage --to NEWFILE</c>: every readable record of the configured (damaged) spool into a new
/// spool file, with counts of what was read and lost. The damaged spool is not changed. Exit codes: 0 salvaged with
/// nothing lost; 1 nothing could be salvaged; 4 salvaged, but records were lost (listed).</summary>
internal static class SpoolSalvageCommand
{
    public const int SomethingLost = 4;

    public static int Run(ImLoggerConfig config, Arguments args, Terminal terminal)
    {
        if (args.Positional.Count != 1 || args.To is null)
        {
            terminal.Err.WriteLine("imlogger: use `spool salvage --to NEWFILE --config FILE` (NEWFILE must not exist)");
            return 64;
        }
        SpoolSalvageReport report;
        try
        {
            report = SpoolOwnership.AsSpoolOwner(args.To, () => SpoolSalvage.Salvage(config.SpoolPath, args.To));
        }
        catch (Exception e) when (e is SpoolUnavailableException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            terminal.Err.WriteLine($"imlogger: salvage failed: {e.Message}");
            return 1;
        }
        var target = Path.GetFullPath(args.To);
        terminal.Out.WriteLine($"salvaged {config.SpoolPath} into {target} (the damaged spool is unchanged):");
        foreach (var (name, count) in report.Records.OrderBy(r => r.Key, StringComparer.Ordinal))
            terminal.Out.WriteLine($"  {name,-20} {count,8} record(s) read");
        var lost = report.Problems.Count > 0 || report.IncompleteTranscripts.Count > 0 || report.OrphanedEvents > 0;
        terminal.Out.WriteLine($"  unreadable: {report.Problems.Count} page(s)/record(s); {report.IncompleteTranscripts.Count} transcript(s) missing events; " +
                               $"{report.OrphanedEvents} event(s) whose transcript was lost");
        foreach (var problem in report.Problems.Take(20)) terminal.Out.WriteLine($"    {problem}");
        foreach (var (id, found, written) in report.IncompleteTranscripts.Take(50))
            terminal.Out.WriteLine($"    transcript {id}: {found} of {written} event(s) readable");
        terminal.Out.WriteLine(report.SpoolId is null
            ? $"next: stop imlogger, move {config.SpoolPath} and its log aside (keep them), move {target} to {config.SpoolPath}, and start with --accept-new-spool (the spool's identity was lost)"
            : $"next: stop imlogger, move {config.SpoolPath} and its log aside (keep them), move {target} to {config.SpoolPath}, and start it (same spool identity {report.SpoolId})");
        return lost ? SomethingLost : 0;
    }
}

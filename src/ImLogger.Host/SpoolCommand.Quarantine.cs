using System.Globalization;
using ImLogger.Config;
using ImLogger.Sinks;
using ImLogger.Spool;

namespace ImLogger.Host;

/// <summary><c>imlogger spool status</c>'s quarantine section, <c>spool show ID</c> of a quarantined transcript and
/// <c>spool release-quarantined [ID]</c>: transcripts with a record this version cannot read (written by a newer version,
/// or damaged), set aside so everything else is delivered (<see cref="LiteDbSpool.Quarantined"/>).</summary>
internal static partial class SpoolCommand
{
    /// <summary>The status, then the quarantine. Neither may die on what it cannot read: it says so, and the exit code is 1.</summary>
    private static int StatusWithQuarantine(ImLoggerConfig config, LiteDbSpool spool, Terminal terminal)
    {
        var status = WhatItCanRead("the delivery status", config, terminal, () => Status(config, spool, terminal));
        var quarantine = WhatItCanRead("the quarantine", config, terminal, () => QuarantineStatus(spool, terminal));
        return Math.Max(status, quarantine);
    }

    private static int WhatItCanRead(string what, ImLoggerConfig config, Terminal terminal, Func<int> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            terminal.Err.WriteLine($"imlogger: cannot read {what} of the spool {config.SpoolPath} ({e.GetType().Name}: {e.Message}). " +
                                   "Keep a copy of the spool file and its -log file before anything else; the service's log says more.");
            return 1;
        }
    }

    private static int QuarantineStatus(LiteDbSpool spool, Terminal terminal)
    {
        var quarantined = spool.Quarantined();
        if (quarantined.Count == 0) return 0;
        terminal.Out.WriteLine($"QUARANTINED: {quarantined.Count} transcript(s) with a record this version cannot read; kept as they are, not delivered:");
        foreach (var q in quarantined)
        {
            terminal.Out.WriteLine($"  {q.TranscriptId}  {Trim(q.Conversation)}, {q.State}, for {(q.Endpoints.Count == 0 ? "-" : string.Join(", ", q.Endpoints))}, since {Utc(q.SinceUtc)}");
            terminal.Out.WriteLine($"    record {q.RecordId}: {q.Problem}");
        }
        var advice = quarantined.Select(q => q.Advice).Distinct(StringComparer.Ordinal).ToList();
        foreach (var a in advice) terminal.Out.WriteLine("  what to do: " + a);
        return 0;
    }

    private static int ReleaseQuarantined(LiteDbSpool spool, string? id, Terminal terminal)
    {
        var outcomes = spool.ReleaseQuarantined(id);
        if (id is not null && outcomes.Count == 0)
        {
            terminal.Err.WriteLine($"imlogger: transcript '{id}' is not quarantined; `imlogger spool status` lists the ones that are");
            return 1;
        }
        foreach (var o in outcomes) terminal.Out.WriteLine($"{o.TranscriptId}: {(o.Released ? "released" : "stays quarantined")}: {o.Outcome}");
        var released = outcomes.Count(o => o.Released);
        terminal.Out.WriteLine($"{released} of {outcomes.Count} quarantined transcript(s) released" +
                               (released < outcomes.Count ? "; the others are still unreadable by this version (see `imlogger spool status`)" : ""));
        return released == outcomes.Count ? 0 : 1;
    }

    /// <summary>What can be read of a quarantined transcript; null when it is not quarantined (the ordinary show).</summary>
    private static int? ShowQuarantined(LiteDbSpool spool, string id, Terminal terminal)
    {
        try
        {
            spool.Load(id); // an event record only fails when loaded: then it is quarantined, and shown as such
        }
        catch (SpoolRecordException)
        {
        }
        if (spool.Quarantined().FirstOrDefault(q => q.TranscriptId == id) is not { } q) return null;
        terminal.Out.WriteLine($"transcript {id}: QUARANTINED since {Utc(q.SinceUtc)}: {q.Conversation}, {q.State}, for {(q.Endpoints.Count == 0 ? "-" : string.Join(", ", q.Endpoints))}");
        terminal.Out.WriteLine($"  record {q.RecordId} cannot be read: {q.Problem}");
        terminal.Out.WriteLine($"  what to do: {q.Advice}");
        terminal.Out.WriteLine("  events, as far as they can be read:");
        foreach (var record in spool.ReadableEvents(id))
            terminal.Out.WriteLine(record.Event is { } e
                ? "    " + TranscriptMessageBuilder.RenderLine(e).Replace("\n", "\n    ")
                : $"    [{record.RecordId} cannot be read: {record.Problem}]");
        return 0;
    }

    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
}

using System.Globalization;
using ImLogger.Config;
using ImLogger.Spool;
using ImLogger.Sinks;

namespace ImLogger.Host;

/// <summary><c>imlogger spool status | retry [NAME] | show ID</c>: what waits in the spool, and dead letters back to pending.</summary>
/// <remarks>Opens the spool itself, so it needs the service stopped (the spool is locked by the running process; the
/// error says so). Exit codes: 0 done, 1 the spool cannot be opened or the transcript is unknown, 64 bad command line.</remarks>
internal static class SpoolCommand
{
    public static int Run(ImLoggerConfig config, Arguments args)
    {
        var words = args.Positional;
        if (words.Count == 0 || words[0] is not ("status" or "retry" or "show") || (words[0] == "show" && words.Count != 2) || words.Count > 2
            || (words[0] == "status" && words.Count != 1))
        {
            Console.Error.WriteLine("imlogger: use `spool status`, `spool retry [NAME]` or `spool show ID` (with --config FILE)");
            return 64;
        }
        if (SpoolKey.OpenForCommand(config) is not { } spool) return 1;
        using (spool)
        {
            return words[0] switch
            {
                "status" => Status(config, spool),
                "retry" => Retry(config, spool, words.Count == 2 ? words[1] : null),
                _ => Show(spool, words[1]),
            };
        }
    }

    private static int Status(ImLoggerConfig config, LiteDbSpool spool)
    {
        var now = DateTimeOffset.UtcNow;
        var headers = spool.Undelivered();
        var open = spool.OpenTranscripts().Count;
        Console.WriteLine($"spool {config.SpoolPath}: {open} open conversation(s), {headers.Count} closed transcript(s) not yet delivered everywhere");
        var names = config.Endpoints.Select(e => e.Name)
            .Concat(headers.SelectMany(h => h.Deliveries.Select(d => d.Endpoint))).Distinct(StringComparer.Ordinal);
        Console.WriteLine($"  {"endpoint",-24} {"pending",8} {"dead",6}  oldest     next attempt / last error");
        foreach (var name in names)
        {
            var owed = headers.SelectMany(h => h.Deliveries.Where(d => d.Endpoint == name).Select(d => (Header: h, Delivery: d))).ToList();
            var pending = owed.Count(o => o.Delivery.State == DeliveryState.Pending);
            var dead = owed.Count(o => o.Delivery.State == DeliveryState.Dead);
            var oldest = owed.Count == 0 ? "-" : Age(now - owed.Min(o => o.Header.ClosedUtc ?? o.Header.OpenedUtc));
            var configured = config.Endpoints.Any(e => e.Name == name) ? "" : " (NOT CONFIGURED)";
            var last = owed.Where(o => o.Delivery.LastError is not null).OrderByDescending(o => o.Delivery.Attempts).FirstOrDefault();
            var note = last.Delivery is null ? ""
                : (last.Delivery.NextAttemptUtc is { } next ? $"next {next.UtcDateTime:HH:mm:ss'Z'}; " : "") + Trim(last.Delivery.LastError!);
            Console.WriteLine($"  {name + configured,-24} {pending,8} {dead,6}  {oldest,-10} {note}");
        }
        return 0;
    }

    private static int Retry(ImLoggerConfig config, LiteDbSpool spool, string? endpoint)
    {
        if (endpoint is not null && config.Endpoints.All(e => e.Name != endpoint)
            && spool.Undelivered().All(h => h.Deliveries.All(d => d.Endpoint != endpoint)))
        {
            Console.Error.WriteLine($"imlogger: no endpoint '{endpoint}' in the config or the spool");
            return 64;
        }
        var count = spool.RequeueDead(endpoint);
        Console.WriteLine($"{count} dead deliver{(count == 1 ? "y" : "ies")}{(endpoint is null ? "" : $" to '{endpoint}'")} back to pending; " +
                          "`imlogger run` delivers them at its next pass");
        return 0;
    }

    private static int Show(LiteDbSpool spool, string id)
    {
        var header = spool.Undelivered().Concat(spool.OpenTranscripts()).FirstOrDefault(h => h.Id == id);
        var transcript = spool.Load(id);
        if (header is null || transcript is null)
        {
            Console.Error.WriteLine($"imlogger: no transcript '{id}' in the spool (delivered transcripts are deleted from it)");
            return 1;
        }
        Console.WriteLine($"transcript {id}: {header.ConversationType} {header.ConversationKey}, {header.State}, {header.EventCount} event(s)");
        Console.WriteLine($"  opened {header.OpenedUtc.UtcDateTime:u}, closed {(header.ClosedUtc is { } c ? c.UtcDateTime.ToString("u", CultureInfo.InvariantCulture) : "-")}");
        foreach (var d in header.Deliveries)
            Console.WriteLine($"  endpoint {d.Endpoint}: {d.State}, {d.Attempts} attempt(s)" +
                              (d.NextAttemptUtc is { } n ? $", next {n.UtcDateTime:u}" : "") + (d.LastError is { } e ? $"\n    last error: {e}" : ""));
        Console.WriteLine("  events:");
        foreach (var e in transcript.Events) Console.WriteLine("    " + TranscriptMessageBuilder.RenderLine(e).Replace("\n", "\n    "));
        return 0;
    }

    private static string Age(TimeSpan age) =>
        age.TotalDays >= 1 ? $"{age.TotalDays:0.#}d" : age.TotalHours >= 1 ? $"{age.TotalHours:0.#}h" : age.TotalMinutes >= 1 ? $"{age.TotalMinutes:0}m" : $"{Math.Max(0, age.TotalSeconds):0}s";

    private static string Trim(string s) => s.Length > 160 ? s[..160] + "…" : s;
}

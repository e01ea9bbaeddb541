using System.Globalization;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Policy;
using ImLogger.Spool;
using ImLogger.Sinks;

namespace ImLogger.Host;

/// <summary><c>imlogger spool status | retry [NAME] | show ID | rooms | forget-room JID</c>: what waits in the spool, dead
/// letters back to pending, and the group chats learned to be end-to-end encrypted (which logged users may not join).</summary>
/// <remarks>Run by the running service when there is one (through its control socket, <see cref="ControlSocket"/>),
/// otherwise on the spool file directly. Exit codes: 0 done, 1 the spool cannot be opened or the transcript is unknown,
/// 64 bad command line.</remarks>
internal static partial class SpoolCommand
{
    public static int Run(ImLoggerConfig config, Arguments args, LiteDbSpool spool, Terminal terminal, RunningService? running)
    {
        var words = args.Positional;
        if (words.Count == 0 || words[0] is not ("status" or "retry" or "show" or "rooms" or "forget-room" or "release-seat" or "release-quarantined") || words.Count > 2
            || (words[0] is "show" or "forget-room" or "release-seat" && words.Count != 2) || (words[0] is "status" or "rooms" && words.Count != 1))
        {
            terminal.Err.WriteLine("imlogger: use `spool status`, `spool retry [NAME]`, `spool show ID`, `spool rooms`, `spool forget-room JID`, `spool release-seat JID` or `spool release-quarantined [ID]` (with --config FILE)");
            return 64;
        }
        return words[0] switch
        {
            "status" => StatusWithQuarantine(config, spool, terminal),
            "release-quarantined" => ReleaseQuarantined(spool, words.Count == 2 ? words[1] : null, terminal),
            "retry" => Retry(config, spool, words.Count == 2 ? words[1] : null, terminal, running?.Delivery),
            "rooms" => Rooms(config, spool, terminal),
            "forget-room" => ForgetRoom(config, spool, words[1].Trim().ToLowerInvariant(), terminal, running?.Policy),
            "release-seat" => ReleaseSeat(config, spool, words[1].Trim().ToLowerInvariant(), terminal, running?.Seats),
            _ => ShowQuarantined(spool, words[1], terminal) ?? Show(spool, words[1], terminal),
        };
    }

    private static int Rooms(ImLoggerConfig config, LiteDbSpool spool, Terminal terminal)
    {
        var learned = spool.LearnedEncryptedRooms();
        terminal.Out.WriteLine($"group chats logged users may not join (end-to-end encrypted): {config.Restrictions.EncryptedRooms.Count} listed in the config, {learned.Count} learned");
        foreach (var room in config.Restrictions.EncryptedRooms.Order(StringComparer.Ordinal))
            terminal.Out.WriteLine($"  {room,-48} listed in the config");
        foreach (var (room, why) in learned.OrderBy(r => r.Key, StringComparer.Ordinal))
            terminal.Out.WriteLine($"  {room,-48} learned: {why} (`imlogger spool forget-room {room}` if that was a mistake)");
        return 0;
    }

    private static int ReleaseSeat(ImLoggerConfig config, LiteDbSpool spool, string jid, Terminal terminal, Seats.SeatLedger? runningSeats)
    {
        if (config.Organizations.Any(o => o.Users.Concat(o.OverLimit).Any(u => u.Jid == jid)))
        {
            terminal.Err.WriteLine($"imlogger: {jid} is listed in the config, which gives listed users their seats: remove them there (or <exclude> them)");
            return 1;
        }
        var released = runningSeats?.Release(jid) ?? spool.RemoveSeenUser(jid);
        if (!released)
        {
            terminal.Err.WriteLine($"imlogger: {jid} holds no seat given at run time; `imlogger report` lists who does");
            return 1;
        }
        terminal.Out.WriteLine($"seat of {jid} released{(runningSeats == null ? " (the service applies it when it starts)" : "")}; " +
                               "if they send again they are seen anew, after everyone waiting. `imlogger report` shows who holds the seats now");
        return 0;
    }

    private static int ForgetRoom(ImLoggerConfig config, LiteDbSpool spool, string room, Terminal terminal, CompliancePolicy? runningPolicy)
    {
        if (config.Restrictions.EncryptedRooms.Contains(room, StringComparer.Ordinal))
        {
            terminal.Err.WriteLine($"imlogger: {room} is listed in the config (<restrictions><encrypted-room>): remove it there and restart");
            return 1;
        }
        var forgotten = runningPolicy?.Forget(room) ?? spool.ForgetLearnedEncryptedRoom(room);
        if (!forgotten)
        {
            terminal.Err.WriteLine($"imlogger: {room} is not a learned encrypted room; `imlogger spool rooms` lists them");
            return 1;
        }
        terminal.Out.WriteLine($"{room} forgotten: logged users may join it again{(runningPolicy == null ? " once the service starts" : "")}; " +
                               "it is learned again if encrypted traffic is seen in it");
        return 0;
    }

    private static int Status(ImLoggerConfig config, LiteDbSpool spool, Terminal terminal)
    {
        var now = DateTimeOffset.UtcNow;
        // From the spool's delivery queue (counters and one index lookup per endpoint), not from the backlog itself: the
        // running service's ingest is not held up however many transcripts wait.
        var backlog = spool.Backlog().ToDictionary(b => b.Endpoint, StringComparer.Ordinal);
        var open = spool.OpenCount();
        terminal.Out.WriteLine($"spool {config.SpoolPath}: {open} open conversation(s), {spool.UndeliveredCount()} closed transcript(s) not yet delivered everywhere");
        var names = config.Endpoints.Select(e => e.Name).Concat(backlog.Keys).Distinct(StringComparer.Ordinal);
        terminal.Out.WriteLine($"  {"endpoint",-24} {"pending",8} {"dead",6}  oldest     next attempt / last error (of the oldest)");
        foreach (var name in names)
        {
            var owed = backlog.GetValueOrDefault(name);
            var oldest = owed?.OldestClosedUtc is { } closed ? Age(now - closed) : "-";
            var configured = config.Endpoints.Any(e => e.Name == name) ? "" : " (NOT CONFIGURED)";
            var note = owed?.OldestLastError is not { } error ? ""
                : (owed.OldestNextAttemptUtc is { } next ? $"next {next.UtcDateTime:yyyy-MM-dd HH:mm:ss'Z'}; " : "") + Trim(error);
            terminal.Out.WriteLine($"  {name + configured,-24} {owed?.Pending ?? 0,8} {owed?.Dead ?? 0,6}  {oldest,-10} {note}");
            if (owed is { CopiesMayExist: > 0 } withCopies)
                terminal.Out.WriteLine($"  {"",-24} {withCopies.CopiesMayExist} transcript(s) may already be in this endpoint's archive (an attempt's outcome was unknown); " +
                                       $"they are resent marked {SmtpSink.ResentHeader}, same Message-ID");
        }
        return 0;
    }

    private static int Show(LiteDbSpool spool, string id, Terminal terminal)
    {
        var header = spool.Header(id);
        Transcript? transcript;
        try
        {
            transcript = spool.Load(id);
        }
        catch (SpoolRecordException e)
        {
            terminal.Err.WriteLine($"imlogger: transcript '{id}': {e.Message}");
            return 1;
        }
        if (header is null || transcript is null)
        {
            terminal.Err.WriteLine($"imlogger: no transcript '{id}' in the spool (delivered transcripts are deleted from it)");
            return 1;
        }
        terminal.Out.WriteLine($"transcript {id}: {header.ConversationType} {header.ConversationKey}, {header.State}, {header.EventCount} event(s)");
        terminal.Out.WriteLine($"  opened {header.OpenedUtc.UtcDateTime:u}, closed {(header.ClosedUtc is { } c ? c.UtcDateTime.ToString("u", CultureInfo.InvariantCulture) : "-")}");
        foreach (var d in header.Deliveries)
            terminal.Out.WriteLine($"  endpoint {d.Endpoint}: {d.State}, {d.Attempts} attempt(s)" +
                              (d.NextAttemptUtc is { } n ? $", next {n.UtcDateTime:u}" : "") +
                              (d.CopyMayExistSinceUtc is { } copy ? $", a copy may already exist (an attempt's outcome was unknown at {copy.UtcDateTime:u})" : "") + (d.LastError is { } e ? $"\n    last error: {e}" : ""));
        terminal.Out.WriteLine("  events:");
        foreach (var e in transcript.Events) terminal.Out.WriteLine("    " + TranscriptMessageBuilder.RenderLine(e).Replace("\n", "\n    "));
        return 0;
    }

    private static string Age(TimeSpan age) =>
        age.TotalDays >= 1 ? $"{age.TotalDays:0.#}d" : age.TotalHours >= 1 ? $"{age.TotalHours:0.#}h" : age.TotalMinutes >= 1 ? $"{age.TotalMinutes:0}m" : $"{Math.Max(0, age.TotalSeconds):0}s";

    private static string Trim(string s) => s.Length > 160 ? s[..160] + "…" : s;
}

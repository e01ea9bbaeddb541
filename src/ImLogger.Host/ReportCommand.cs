using System.Globalization;
using ImLogger.Config;
using ImLogger.Domain;
using ImLogger.Seats;
using ImLogger.Spool;

namespace ImLogger.Host;

/// <summary>
/// <c>imlogger report [--org NAME|DOMAIN] [--since YYYY-MM-DD]</c>: the coverage view. For every user the config lists,
/// and every user an organization logged by default has seen:
/// whether logging is active or why not (over the seat limit, excluded), events captured and refused since the
/// date, the last activity, the endpoint and its backlog. Users the spool saw who are no longer configured are
/// listed too, so nothing that was archived disappears from the view.
/// </summary>
/// <remarks>Starts with the state of the server side on each domain (<see cref="CheckServerCommand.ReportLines"/>).
/// Run by the running service when there is one (through its control socket, <see cref="ControlSocket"/>),
/// otherwise on the spool file directly. Exit codes: 0 done, 1 the spool cannot be opened, 64 bad command line
/// (unknown organization, bad date).</remarks>
internal static class ReportCommand
{
    public static int Run(ImLoggerConfig config, Arguments args, LiteDbSpool spool, Terminal terminal, RunningService? running = null)
    {
        var organizations = config.Organizations.Where(o => args.Org == null || string.Equals(o.Name, args.Org.Trim(), StringComparison.OrdinalIgnoreCase)
                                                             || o.Owns(args.Org.Trim().ToLowerInvariant())).ToList();
        if (organizations.Count == 0)
        {
            terminal.Err.WriteLine($"imlogger: no organization '{args.Org}' in {config.SourcePath}; configured (name or domain): " +
                                    string.Join("; ", config.Organizations.Select(o => o.Name == o.Domains[0] ? string.Join(", ", o.Domains) : $"{o.Name}: {string.Join(", ", o.Domains)}")));
            return 64;
        }
        var since = DateTimeOffset.MinValue;
        if (args.Since != null && !DateTimeOffset.TryParseExact(args.Since, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out since))
        {
            terminal.Err.WriteLine($"imlogger: --since takes a date such as 2026-01-31 (UTC), not '{args.Since}'");
            return 64;
        }

        {
            var activity = spool.Activity(since).ToDictionary(a => a.User, StringComparer.Ordinal);
            var backlog = Backlog(spool);
            // First what no per-user line can show: a domain whose server side is not loaded logs nobody, whatever the lines below say.
            foreach (var line in CheckServerCommand.ReportLines(running)) terminal.Out.WriteLine(line);
            if (running?.Failover is { } failover) terminal.Out.WriteLine(failover.ReportLine());
            if (spool.QuarantinedCount() is > 0 and var quarantined)
                terminal.Out.WriteLine($"QUARANTINED: {quarantined} transcript(s) in the spool cannot be read by this version and are not delivered; `imlogger spool status` lists them and what to do");
            terminal.Out.WriteLine($"ImLogger coverage report, {config.SourcePath}; activity {(args.Since == null ? "since the spool was created" : $"since {args.Since} (UTC)")}");
            var plan = SeatPlan.Of(config, spool.SeenUsers());
            foreach (var org in organizations)
            {
                var seats = plan.Organizations.First(o => o.Organization == org);
                terminal.Out.WriteLine();
                terminal.Out.WriteLine($"organization {org.Label}: " +
                                  $"{seats.Used} of {org.Seats} seat(s) used, {org.OverLimit.Count + seats.OverLimit.Count} user(s) over the limit, {org.Excluded.Count} excluded" +
                                  (org.LoggedByDefault ? "; logged by default (listed users first, then users in the order ImLogger first saw them)" : ""));
                string Backlogged(string endpoint)
                {
                    var (pending, dead) = backlog.GetValueOrDefault(endpoint);
                    return $"endpoint {endpoint} (backlog {pending} pending, {dead} dead)";
                }
                foreach (var u in org.Users)
                    terminal.Out.WriteLine($"  {u.Jid,-36} {CheckServerCommand.Logging(running, u.Jid)}{Blocked(activity, u.Jid)}; {Activity(activity, u.Jid)}; {Backlogged(u.Endpoint ?? org.DefaultEndpoint)}");
                foreach (var u in seats.Seated)
                    terminal.Out.WriteLine($"  {u.Jid,-36} {CheckServerCommand.Logging(running, u.Jid)} (logged by default, first seen {Utc(u.FirstSeenUtc)}){Blocked(activity, u.Jid)}; {Activity(activity, u.Jid)}; {Backlogged(org.DefaultEndpoint)}");
                foreach (var u in org.OverLimit)
                    terminal.Out.WriteLine($"  {u.Jid,-36} NOT LOGGED: over the seat limit ({org.Seats} seats; listed at {u.Source}); {Activity(activity, u.Jid)}");
                foreach (var u in seats.OverLimit)
                    terminal.Out.WriteLine($"  {u.Jid,-36} NOT LOGGED: over the seat limit ({org.Seats} seats, all taken when first seen {Utc(u.FirstSeenUtc)}); {Activity(activity, u.Jid)}");
                foreach (var u in org.Excluded)
                    terminal.Out.WriteLine($"  {u.Jid,-36} NOT LOGGED: excluded (listed at {u.Source}); {Activity(activity, u.Jid)}");
                var known = org.Users.Concat(org.OverLimit).Concat(org.Excluded).Select(u => u.Jid)
                    .Concat(seats.Seated.Concat(seats.OverLimit).Select(u => u.Jid)).ToHashSet(StringComparer.Ordinal);
                if (org.LoggedByDefault)
                    foreach (var x in org.Exclusions.Where(j => !known.Contains(j)).Order(StringComparer.Ordinal))
                    {
                        terminal.Out.WriteLine($"  {x,-36} NOT LOGGED: excluded; {Activity(activity, x)}");
                        known.Add(x);
                    }
                foreach (var gone in activity.Keys.Where(j => org.Owns(j) && !known.Contains(j)).Order(StringComparer.Ordinal))
                    terminal.Out.WriteLine($"  {gone,-36} NOT LOGGED: no longer in the config; {Activity(activity, gone)}");
            }
        }
        return 0;
    }

    /// <summary>", BLOCKED: ..." when what the user sends lately is refused (an unapproved client, typically): logged, yet
    /// nothing of theirs gets archived because nothing gets through.</summary>
    private static string Blocked(Dictionary<string, UserActivity> activity, string jid) =>
        activity.TryGetValue(jid, out var a) && a.BlockedBy is { } rule && a.LastRefusal is { } last
            ? $", but BLOCKED: the last stanza they sent was refused ({rule.Name()}, {Utc(last.AtUtc)}){(rule == RefusalRule.UnapprovedClient ? "; they must switch to an approved client" : "")}"
            : "";

    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";

    private static string Activity(Dictionary<string, UserActivity> activity, string jid) =>
        activity.TryGetValue(jid, out var a)
            ? $"captured {a.Captured}, refused {a.Refused}{(a.RefusedBy.Count == 0 ? "" : $" ({string.Join(", ", a.RefusedBy.Select(r => $"{r.Key.Name()} {r.Value}"))})")}, last activity {Utc(a.LastActivityUtc)}"
            : "captured 0, refused 0, no activity";

    /// <summary>Transcripts still owed to each endpoint: pending (will be retried) and dead (need the operator).</summary>
    private static Dictionary<string, (int Pending, int Dead)> Backlog(LiteDbSpool spool) =>
        spool.Backlog().ToDictionary(b => b.Endpoint, b => (b.Pending, b.Dead), StringComparer.Ordinal);
}

using System.Globalization;
using ImLogger.Config;
using ImLogger.Spool;

namespace ImLogger.Host;

/// <summary>
/// <c>imlogger report [--org DOMAIN] [--since YYYY-MM-DD]</c>: the coverage view. For every user the config lists:
/// whether logging is active or why not (over the seat limit, excluded), events captured and refused since the
/// date, the last activity, the endpoint and its backlog. Users the spool saw who are no longer configured are
/// listed too, so nothing that was archived disappears from the view.
/// </summary>
/// <remarks>Opens the spool itself, so, like <c>imlogger spool</c>, it needs the service stopped. Exit codes: 0 done,
/// 1 the spool cannot be opened, 64 bad command line (unknown organization, bad date).</remarks>
internal static class ReportCommand
{
    public static int Run(ImLoggerConfig config, Arguments args)
    {
        var organizations = config.Organizations.Where(o => args.Org == null || string.Equals(o.Domain, args.Org.Trim(), StringComparison.OrdinalIgnoreCase)).ToList();
        if (organizations.Count == 0)
        {
            Console.Error.WriteLine($"imlogger: no organization '{args.Org}' in {config.SourcePath}; configured: {string.Join(", ", config.Organizations.Select(o => o.Domain))}");
            return 64;
        }
        var since = DateTimeOffset.MinValue;
        if (args.Since != null && !DateTimeOffset.TryParseExact(args.Since, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out since))
        {
            Console.Error.WriteLine($"imlogger: --since takes a date such as 2026-01-31 (UTC), not '{args.Since}'");
            return 64;
        }

        if (SpoolKey.OpenForCommand(config) is not { } spool) return 1;
        using (spool)
        {
            var activity = spool.Activity(since).ToDictionary(a => a.User, StringComparer.Ordinal);
            var backlog = Backlog(spool);
            Console.WriteLine($"ImLogger coverage report, {config.SourcePath}; activity {(args.Since == null ? "since the spool was created" : $"since {args.Since} (UTC)")}");
            foreach (var org in organizations)
            {
                Console.WriteLine();
                Console.WriteLine($"organization {org.Domain}: {org.Users.Count} of {org.Seats} seat(s) used, {org.OverLimit.Count} user(s) over the limit, {org.Excluded.Count} excluded");
                foreach (var u in org.Users)
                {
                    var endpoint = u.Endpoint ?? org.DefaultEndpoint;
                    var (pending, dead) = backlog.GetValueOrDefault(endpoint);
                    Console.WriteLine($"  {u.Jid,-36} logging active; {Activity(activity, u.Jid)}; endpoint {endpoint} (backlog {pending} pending, {dead} dead)");
                }
                foreach (var u in org.OverLimit)
                    Console.WriteLine($"  {u.Jid,-36} NOT LOGGED: over the seat limit ({org.Seats} seats; listed at {u.Source}); {Activity(activity, u.Jid)}");
                foreach (var u in org.Excluded)
                    Console.WriteLine($"  {u.Jid,-36} NOT LOGGED: excluded (listed at {u.Source}); {Activity(activity, u.Jid)}");
                var listed = org.Users.Concat(org.OverLimit).Concat(org.Excluded).Select(u => u.Jid).ToHashSet(StringComparer.Ordinal);
                foreach (var gone in activity.Keys.Where(j => j.EndsWith("@" + org.Domain, StringComparison.Ordinal) && !listed.Contains(j)).Order(StringComparer.Ordinal))
                    Console.WriteLine($"  {gone,-36} NOT LOGGED: no longer in the config; {Activity(activity, gone)}");
            }
        }
        return 0;
    }

    private static string Activity(Dictionary<string, UserActivity> activity, string jid) =>
        activity.TryGetValue(jid, out var a)
            ? $"captured {a.Captured}, refused {a.Refused}{(a.RefusedBy.Count == 0 ? "" : $" ({string.Join(", ", a.RefusedBy.Select(r => $"{r.Key} {r.Value}"))})")}, last activity {a.LastActivityUtc.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}Z"
            : "captured 0, refused 0, no activity";

    /// <summary>Transcripts still owed to each endpoint: pending (will be retried) and dead (need the operator).</summary>
    private static Dictionary<string, (int Pending, int Dead)> Backlog(LiteDbSpool spool) =>
        spool.Undelivered().SelectMany(h => h.Deliveries)
            .GroupBy(d => d.Endpoint, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (g.Count(d => d.State == DeliveryState.Pending), g.Count(d => d.State == DeliveryState.Dead)), StringComparer.Ordinal);
}

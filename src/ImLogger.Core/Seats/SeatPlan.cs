using ImLogger.Config;

namespace ImLogger.Seats;

/// <summary>A user of an organization that logs everyone by default, as ImLogger first saw them send.</summary>
/// <param name="Jid">Bare JID, lower case.</param>
/// <param name="FirstSeenUtc">When their first stanza reached ImLogger.</param>
public sealed record SeenUser(string Jid, DateTimeOffset FirstSeenUtc);

/// <summary>The durable, append-only list of <see cref="SeenUser"/>s, in order of first sight (kept in the spool).</summary>
public interface ISeenUsers
{
    /// <summary>Every user recorded so far, oldest first.</summary>
    IReadOnlyList<SeenUser> SeenUsers();

    /// <summary>Appends a user (a user already recorded is left as is); durable when it returns.</summary>
    void AddSeenUser(SeenUser user);

    /// <summary>Removes a user (an admin releasing their seat); false if they were not recorded.</summary>
    bool RemoveSeenUser(string jid);
}

/// <summary>One organization's seats: the listed users first, then, when it logs everyone by default, users in order of first sight.</summary>
/// <param name="Organization">The organization, as configured.</param>
/// <param name="Seated">Users not listed in the config who hold a seat (logged by default), oldest first.</param>
/// <param name="OverLimit">Users seen after every seat was taken: NOT logged. Raising seats gives them seats, oldest first.</param>
public sealed record OrganizationSeats(OrganizationConfig Organization, IReadOnlyList<SeenUser> Seated, IReadOnlyList<SeenUser> OverLimit)
{
    /// <summary>Seats taken: listed users within the limit plus seated users.</summary>
    public int Used => Organization.Users.Count + Seated.Count;
}

/// <summary>
/// Who holds a seat, as a pure function of the config and the seen-users list, so that every start, reload
/// and report agrees. The rule (docs/admin-guide.md, "Seats"):
/// <list type="number">
/// <item>Users listed in the config (user, group, CSV) take seats first, in the config's order, up to seats.</item>
/// <item>In an organization with <c>logged-by-default="yes"</c>, the remaining seats go to its other users in the order
/// ImLogger first saw each of them send a stanza (the seen list survives restarts); excluded users never take one.</item>
/// <item>Everyone else is not logged, and is named: listed users over the limit by the config, seen users by the report.</item>
/// </list>
/// Because the seen list only grows and listed users come first, a seat once given is kept, unless the admin lowers
/// seats or lists more users: then the most recently seated users lose theirs, and the reload says so.
/// </summary>
public sealed class SeatPlan
{
    private readonly Dictionary<string, (OrganizationConfig Organization, string Endpoint)> _logged;
    private readonly HashSet<string> _seen;

    /// <summary>Users listed in the config beyond the seats: never recorded as seen (they are named by the config).</summary>
    private readonly HashSet<string> _listedOverLimit;

    private SeatPlan(ImLoggerConfig config, IReadOnlyList<OrganizationSeats> organizations,
        Dictionary<string, (OrganizationConfig, string)> logged, HashSet<string> seen)
    {
        Config = config;
        Organizations = organizations;
        _logged = logged;
        _seen = seen;
        _listedOverLimit = config.Organizations.SelectMany(o => o.OverLimit).Select(u => u.Jid).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The config this plan was made from.</summary>
    public ImLoggerConfig Config { get; }

    /// <summary>Per organization, in config order.</summary>
    public IReadOnlyList<OrganizationSeats> Organizations { get; }

    /// <summary>How many users are logged, across organizations.</summary>
    public int LoggedCount => _logged.Count;

    /// <summary>Whether a bare JID holds a seat (listed within the limit, or seated by default).</summary>
    public bool IsLogged(string bareJid) => _logged.ContainsKey(bareJid);

    /// <summary>The endpoint of a logged user, or null if the user is not logged.</summary>
    public string? EndpointOf(string bareJid) => _logged.TryGetValue(bareJid, out var x) ? x.Endpoint : null;

    /// <summary>The organization of a logged user, or null if the user is not logged.</summary>
    public OrganizationConfig? OrganizationOf(string bareJid) => _logged.TryGetValue(bareJid, out var x) ? x.Organization : null;

    /// <summary>Every logged user, in no particular order.</summary>
    public IEnumerable<string> LoggedUsers => _logged.Keys;

    /// <summary>The seats of <paramref name="config"/> given the users seen so far.</summary>
    public static SeatPlan Of(ImLoggerConfig config, IReadOnlyList<SeenUser> seen)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(seen);
        var logged = new Dictionary<string, (OrganizationConfig, string)>(StringComparer.Ordinal);
        foreach (var org in config.Organizations)
            foreach (var u in org.Users)
                logged[u.Jid] = (org, u.Endpoint ?? org.DefaultEndpoint);

        var organizations = new List<OrganizationSeats>();
        foreach (var org in config.Organizations)
        {
            var seated = new List<SeenUser>();
            var over = new List<SeenUser>();
            if (org.LoggedByDefault)
            {
                var listed = org.OverLimit.Select(u => u.Jid).ToHashSet(StringComparer.Ordinal);
                var free = (org.Seats ?? int.MaxValue) - org.Users.Count;
                foreach (var user in seen)
                {
                    if (!org.Owns(user.Jid) || org.Exclusions.Contains(user.Jid) || logged.ContainsKey(user.Jid) || listed.Contains(user.Jid))
                        continue;
                    if (seated.Count < free)
                    {
                        seated.Add(user);
                        logged[user.Jid] = (org, org.DefaultEndpoint);
                    }
                    else
                    {
                        over.Add(user);
                    }
                }
            }
            organizations.Add(new OrganizationSeats(org, seated, over));
        }
        return new SeatPlan(config, organizations, logged, seen.Select(u => u.Jid).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>Whether ImLogger should record <paramref name="bareJid"/> as seen: a user of an organization that
    /// logs by default, not listed in the config, not excluded, not seen before.</summary>
    public bool ShouldRecord(string bareJid)
    {
        // The server itself (from="example.test": pings, notices) is not a user and takes no seat.
        if (bareJid.IndexOf('@') <= 0 || _logged.ContainsKey(bareJid) || _seen.Contains(bareJid)) return false;
        foreach (var org in Config.Organizations)
        {
            if (!org.LoggedByDefault || !org.Owns(bareJid)) continue;
            return !org.Exclusions.Contains(bareJid) && !_listedOverLimit.Contains(bareJid);
        }
        return false;
    }

    /// <summary>One sentence per organization with users over its limit (listed by the config or seen at run time):
    /// said at every start and reload, and by check-config and report.</summary>
    public IReadOnlyList<string> OverLimitWarnings()
    {
        var warnings = SeatReport.OverLimitWarnings(Config).ToList();
        foreach (var o in Organizations.Where(o => o.OverLimit.Count > 0))
            warnings.Add($"organization {o.Organization.Name} logs its users by default and all {o.Organization.Seats} seat(s) are taken: " +
                         $"{o.OverLimit.Count} user(s) seen since are NOT logged: {string.Join(", ", o.OverLimit.Select(u => $"{u.Jid} (first seen {u.FirstSeenUtc:yyyy-MM-dd HH:mm} UTC)"))}. " +
                         "Raise seats=\"...\" (and the licence), or <exclude> users who need no logging to free their seats");
        return warnings;
    }
}

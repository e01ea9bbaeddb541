using ImLogger.Config;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;

namespace ImLogger.Seats;

/// <summary>
/// Who is logged while the component runs: the <see cref="SeatPlan"/> of the config in force and of the users seen
/// so far. The pipeline asks it per stanza (<see cref="IsLogged"/>), and tells it who sent each stanza
/// (<see cref="ObserveSender"/>), which is how a user of an organization that logs everyone by default gets a seat.
/// </summary>
/// <remarks>
/// Only a stanza's sender is recorded, never its addressee: the server vouches for the sender (it stamps
/// <c>from</c> on a local user's stanzas, and s2s authenticates remote domains), so a message to a made-up address
/// cannot take a seat. Every client sends its initial presence at sign-in, so a user is seen when they first sign in.
/// Thread-safe; the plan is rebuilt only when the config or the seen list changes.
/// </remarks>
public sealed class SeatLedger
{
    private readonly Func<ImLoggerConfig> _config;
    private readonly ISeenUsers _store;
    private readonly TimeProvider _time;
    private readonly ILogger<SeatLedger> _logger;
    private readonly object _gate = new();
    private readonly List<SeenUser> _seen;
    private readonly HashSet<string> _seenJids;
    private readonly List<SeenUser> _unsaved = [];
    private SeatPlan _plan;

    /// <param name="config">The config in force (read for every decision, so a reload takes effect at once).</param>
    /// <param name="store">Where the seen list is kept (the spool).</param>
    /// <param name="time">Stamps first sightings.</param>
    /// <param name="logger">Says who took a seat, and who is over the limit.</param>
    public SeatLedger(Func<ImLoggerConfig> config, ISeenUsers store, TimeProvider time, ILogger<SeatLedger> logger)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _seen = store.SeenUsers().ToList();
        _seenJids = _seen.Select(u => u.Jid).ToHashSet(StringComparer.Ordinal);
        _plan = SeatPlan.Of(config(), _seen);
        _withBatches = store is ImLogger.Domain.IUnitOfWork;
    }

    /// <summary>The store offers a unit of work (the spool): a new seat is written with the batch whose stanza took it
    /// (<see cref="UnsavedSeats"/>, <see cref="SaveSeats"/>, <see cref="SeatsSaved"/>), not on its own.</summary>
    private readonly bool _withBatches;

    /// <summary>Seats taken and not yet in the store, to be written with the batch (empty when seats are written on their own).</summary>
    public IReadOnlyList<SeenUser> UnsavedSeats()
    {
        if (!_withBatches) return [];
        lock (_gate) return _unsaved.ToList();
    }

    /// <summary>Writes <paramref name="users"/> (from <see cref="UnsavedSeats"/>) inside the batch's unit of work. Takes no lock
    /// of the ledger: the spool's is held, and <see cref="Release"/> takes the ledger's first.</summary>
    public void SaveSeats(IReadOnlyList<SeenUser> users)
    {
        ArgumentNullException.ThrowIfNull(users);
        foreach (var user in users) _store.AddSeenUser(user);
    }

    /// <summary>The batch holding <paramref name="users"/> was committed: they are in the store.</summary>
    public void SeatsSaved(IReadOnlyList<SeenUser> users)
    {
        ArgumentNullException.ThrowIfNull(users);
        if (users.Count == 0) return;
        lock (_gate) _unsaved.RemoveAll(users.Contains);
    }

    /// <summary>The seats now.</summary>
    public SeatPlan Plan
    {
        get
        {
            var plan = Volatile.Read(ref _plan);
            var config = _config();
            if (ReferenceEquals(plan.Config, config)) return plan;
            lock (_gate)
            {
                if (!ReferenceEquals(_plan.Config, config)) Volatile.Write(ref _plan, SeatPlan.Of(config, _seen));
                return _plan;
            }
        }
    }

    /// <summary>The seats <paramref name="config"/> would give, with the users seen so far, without putting it in force
    /// (a reload compares it with <see cref="Plan"/> before deciding).</summary>
    public SeatPlan Preview(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        lock (_gate) return SeatPlan.Of(config, _seen.ToList());
    }

    /// <summary>Whether a bare JID is logged now.</summary>
    public bool IsLogged(string bareJid) => Plan.IsLogged(bareJid);

    /// <summary>The endpoint of a logged user; null when not logged.</summary>
    public string? EndpointOf(string bareJid) => Plan.EndpointOf(bareJid);

    /// <summary>The organization of a logged user; null when not logged.</summary>
    public OrganizationConfig? OrganizationOf(string bareJid) => Plan.OrganizationOf(bareJid);

    /// <summary>
    /// <paramref name="bareJid"/> sent a stanza. A user of an organization that logs by default whom ImLogger has not
    /// seen before is recorded (durably) and given a free seat, or named as over the limit if none is left.
    /// </summary>
    public void ObserveSender(string bareJid)
    {
        ArgumentNullException.ThrowIfNull(bareJid);
        var plan = Plan;
        if ((_withBatches || _unsaved.Count == 0) && (plan.IsLogged(bareJid) || !plan.ShouldRecord(bareJid))) return;
        lock (_gate)
        {
            if (!_withBatches) SaveUnsaved();
            if (_seenJids.Contains(bareJid) || !_plan.ShouldRecord(bareJid)) return;
            var user = new SeenUser(bareJid, _time.GetUtcNow());
            _seen.Add(user);
            _seenJids.Add(bareJid);
            _unsaved.Add(user);
            if (!_withBatches) SaveUnsaved();
            var next = SeatPlan.Of(_plan.Config, _seen);
            Volatile.Write(ref _plan, next);
            var org = next.Organizations.First(o => o.Organization.Owns(bareJid));
            if (next.IsLogged(bareJid))
                _logger.LogInformation("Organization {Organization} logs its users by default: {User} now holds seat {Used} of {Seats} and is logged from this stanza on",
                    org.Organization.Name, bareJid, org.Used, org.Organization.Seats);
            else
                _logger.LogWarning("Organization {Organization} logs its users by default but all {Seats} seat(s) are taken: {User} is NOT logged. " +
                                   "Raise seats=\"...\" (and the licence), or <exclude> users who need no logging to free their seats",
                    org.Organization.Name, org.Organization.Seats, bareJid);
        }
    }

    /// <summary>
    /// Releases the seat of a user seen at run time (someone who left, say): they are forgotten, the next waiting user
    /// (if any) takes the seat, and if they send again they are seen anew, at the end of the line.
    /// </summary>
    /// <returns>False if the user was not in the seen list (listed users' seats are the config's).</returns>
    public bool Release(string bareJid)
    {
        ArgumentNullException.ThrowIfNull(bareJid);
        // The store first, outside the ledger's lock: a batch's unit of work holds the spool's lock and may ask the ledger
        // for a plan (which takes the ledger's), so the ledger's lock is never held while waiting for the spool's.
        var stored = _store.RemoveSeenUser(bareJid);
        lock (_gate)
        {
            var known = _seen.RemoveAll(u => u.Jid == bareJid) > 0;
            _seenJids.Remove(bareJid);
            _unsaved.RemoveAll(u => u.Jid == bareJid);
            Volatile.Write(ref _plan, SeatPlan.Of(_config(), _seen));
            if (known || stored) _logger.LogInformation("Seat of {User} released by an admin", bareJid);
            return known || stored;
        }
    }

    /// <summary>Writes users whose record failed earlier (disk full): they keep their place in memory meanwhile.</summary>
    private void SaveUnsaved()
    {
        while (_unsaved.Count > 0)
        {
            try
            {
                _store.AddSeenUser(_unsaved[0]);
                _unsaved.RemoveAt(0);
            }
            catch (Exception x) when (x is SpoolUnavailableException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                _logger.LogWarning("Could not record {User}'s seat in the spool yet ({Problem}); it holds in memory and the write is retried with the next stanza", _unsaved[0].Jid, x.Message);
                return;
            }
        }
    }
}

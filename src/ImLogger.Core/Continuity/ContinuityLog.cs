using System.Security.Cryptography;
using System.Text;

namespace ImLogger.Continuity;

/// <summary>
/// The pipeline's memory that must survive a restart (calls in progress, notices sent), between the classifier and
/// notifier that change it and the spool that keeps it. Changes gather here while a batch is classified and are written
/// by <see cref="Flush"/>, which the pipeline calls right after the batch's events are stored and before any notice goes
/// out: a crash in between loses at most a call's start (its end then has no duration), never makes a notice that went
/// out look unsent.
/// </summary>
/// <remarks>Not thread-safe: used from the pipeline's single loop.</remarks>
public sealed class ContinuityLog
{
    private readonly IContinuityStore _store;
    private readonly Dictionary<string, ContinuityRecord?> _pending = new(StringComparer.Ordinal); // null: delete
    private readonly List<Action> _beforeFlush = [];
    private IReadOnlyList<ContinuityRecord>? _loaded;

    /// <param name="store">The spool.</param>
    public ContinuityLog(IContinuityStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <summary>What the spool kept from the previous run (read once).</summary>
    public IReadOnlyList<ContinuityRecord> Loaded => _loaded ??= _store.LoadContinuity();

    /// <summary>Removes kept records of <paramref name="kind"/> older than <paramref name="beforeUtc"/> (call before reading
    /// <see cref="Loaded"/>).</summary>
    public int Forget(string kind, DateTimeOffset beforeUtc) => _store.ForgetContinuity(kind, beforeUtc);

    /// <summary>Runs <paramref name="collect"/> at each flush, first: a part that tracks what changed hands it over then.</summary>
    public void BeforeFlush(Action collect) => _beforeFlush.Add(collect);

    /// <summary>Keeps (or replaces) a record at the next flush.</summary>
    public void Put(ContinuityRecord record) => _pending[record.Id] = record;

    /// <summary>Removes a record at the next flush.</summary>
    public void Remove(string id) => _pending[id] = null;

    /// <summary>Changes waiting for <see cref="Flush"/>.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Writes the changes since the last flush in one durable spool write.</summary>
    /// <exception cref="Exception">The spool could not write: the changes stay pending and go with the next flush.</exception>
    public void Flush()
    {
        foreach (var collect in _beforeFlush) collect();
        if (_pending.Count == 0) return;
        _store.SaveContinuity(
            _pending.Values.OfType<ContinuityRecord>().ToList(),
            _pending.Where(kv => kv.Value == null).Select(kv => kv.Key).ToList());
        _pending.Clear();
    }

    /// <summary>Writes the changes since the last flush inside <paramref name="unit"/> (the batch's one durable write): if it is
    /// rolled back, they are pending again (changes made since stay newer).</summary>
    public void FlushIn(ImLogger.Domain.IUnitOfWork unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        foreach (var collect in _beforeFlush) collect();
        if (_pending.Count == 0) return;
        var flushed = new Dictionary<string, ContinuityRecord?>(_pending, StringComparer.Ordinal);
        _store.SaveContinuity(
            flushed.Values.OfType<ContinuityRecord>().ToList(),
            flushed.Where(kv => kv.Value == null).Select(kv => kv.Key).ToList());
        _pending.Clear();
        unit.OnRollback(() =>
        {
            foreach (var (id, record) in flushed) _pending.TryAdd(id, record);
        });
    }

    /// <summary>A short, fixed-length record id for <paramref name="kind"/> and a key of any length (a spool id is indexed, and
    /// room and JID pairs can be long).</summary>
    public static string IdOf(string kind, string key) =>
        kind + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
}

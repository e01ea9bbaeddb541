using ImLogger.Domain;

namespace ImLogger.Conversations;

public sealed partial class ConversationTracker
{
    /// <summary>The spool's unit of work, if it offers one.</summary>
    public IUnitOfWork? UnitOfWork => _spool as IUnitOfWork;

    /// <summary>Runs <paramref name="work"/> (which appends through this tracker, and may write seats, rooms and continuity)
    /// as one durable spool write when the spool offers a unit of work; otherwise each write commits on its own.</summary>
    /// <remarks>The tracker's lock is taken before the spool's (as every other path does), so a timer closing idle
    /// conversations cannot deadlock against the unit.</remarks>
    public void InOneWrite(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_lock)
        {
            if (_spool is IUnitOfWork unit) unit.InOneWrite(work);
            else work();
        }
    }

    /// <summary>Inside a unit of work, what <see cref="Append"/> changes in its open conversations is kept here and put back
    /// if the unit is rolled back: a transcript it opened is not in the spool then, and must not be appended to.</summary>
    private OpenUndo? RememberForUndo()
    {
        if (_spool is not IUnitOfWork unit) return null;
        var undo = new OpenUndo(_open);
        unit.OnRollback(() =>
        {
            lock (_lock) undo.Restore();
        });
        return undo;
    }

    private sealed class OpenUndo(Dictionary<string, Open> open)
    {
        private readonly Dictionary<string, Open?> _before = new(StringComparer.Ordinal);

        /// <summary>Keeps a conversation's state as it was before its first change in this unit.</summary>
        public void Keep(string key)
        {
            if (_before.ContainsKey(key)) return;
            // The endpoint set is changed in place when a logged user with another endpoint joins: keep a copy.
            _before[key] = open.TryGetValue(key, out var o) ? o with { Endpoints = new HashSet<string>(o.Endpoints, StringComparer.Ordinal) } : null;
        }

        public void Restore()
        {
            foreach (var (key, was) in _before)
            {
                if (was is null) open.Remove(key);
                else open[key] = was;
            }
        }
    }
}

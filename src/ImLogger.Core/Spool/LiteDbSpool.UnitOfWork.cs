using ImLogger.Domain;
using Microsoft.Extensions.Logging;

namespace ImLogger.Spool;

/// <summary>
/// One LiteDB transaction for a whole ingest batch (<see cref="IUnitOfWork"/>): the writes made inside
/// <see cref="InOneWrite"/> (transcripts opened, events appended, transcripts closed, seats, rooms, continuity) join it, and
/// it commits and checkpoints once at the end. A failure anywhere inside rolls all of it back: a crash or a refusing disk
/// never leaves seats written without the batch's events, or the events without them.
/// </summary>
/// <remarks>The spool's gate is held for the whole unit, so callers that lock something of their own around spool calls
/// must take that lock before entering the unit (the tracker does: <c>ConversationTracker.InOneWrite</c>).</remarks>
public sealed partial class LiteDbSpool : IUnitOfWork
{
    /// <summary>The unit of work in progress (under the gate, so only on the thread that runs it).</summary>
    private UnitState? _unit;

    private sealed class UnitState
    {
        /// <summary>True while its work runs: the spool's writes join its transaction instead of committing their own.</summary>
        public bool Open { get; set; }

        /// <summary>Set once LiteDB committed it: from then on it is kept (a failed checkpoint after it is not a rollback).</summary>
        public bool Committed { get; set; }

        public List<Action> Undo { get; } = [];
    }

    /// <inheritdoc />
    public void InOneWrite(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_gate)
        {
            if (_unit is { Open: true })
            {
                work();
                return;
            }
            var unit = new UnitState();
            _unit = unit;
            try
            {
                Write(() =>
                {
                    unit.Open = true;
                    try { work(); }
                    finally { unit.Open = false; }
                });
            }
            catch
            {
                if (!unit.Committed)
                {
                    // Events of this unit may be remembered as stored (Append records them as it goes): the retry looks them up.
                    _appendFailed = true;
                    for (var i = unit.Undo.Count - 1; i >= 0; i--)
                    {
                        try { unit.Undo[i](); }
                        catch (Exception e) { _logger.LogError(e, "undoing part of a failed spool write in memory failed"); }
                    }
                }
                throw;
            }
            finally
            {
                _unit = null;
            }
        }
    }

    /// <inheritdoc />
    public void OnRollback(Action undo)
    {
        ArgumentNullException.ThrowIfNull(undo);
        lock (_gate)
        {
            if (_unit is { Open: true } unit) unit.Undo.Add(undo);
        }
    }
}

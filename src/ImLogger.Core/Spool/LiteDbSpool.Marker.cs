using Microsoft.Extensions.Logging;

namespace ImLogger.Spool;

/// <summary>
/// The identity marker's write (an fsync and a rename, <see cref="SpoolMarker.Write"/>) happens outside the spool's gate
/// while running: the generation advance, once a second, held the gate for it, and an inline request arriving then waited
/// for two fsyncs instead of one (docs/performance.md, "The p99 regression"). The database leads and the marker may be
/// behind (<see cref="EnsureIdentity"/> accepts that), so writing it just after the gate is released changes nothing a
/// restart checks; a marker never gets ahead of the database, because it is only made from a generation already
/// checkpointed.
/// </summary>
public sealed partial class LiteDbSpool
{
    private readonly object _markerGate = new();

    /// <summary>The marker of the last generation advanced, not yet written (under the gate).</summary>
    private SpoolMarker? _markerDue;

    /// <summary>The generation of the last marker written (under the marker's own gate).</summary>
    private long _markerWritten;

    /// <summary>True once the spool is open and watched: markers are then written by <see cref="Watch"/>, off the gate.</summary>
    private bool _watching;

    /// <summary>Writes the marker of the latest advance, if not written yet. Called without the spool's gate by
    /// <see cref="Watch"/>, and under it at open and close; a marker older than one already written is skipped.</summary>
    private void WriteDueMarker()
    {
        SpoolMarker? due;
        lock (_gate)
        {
            due = _markerDue;
            _markerDue = null;
        }
        if (due is null) return;
        lock (_markerGate)
        {
            if (due.Generation <= _markerWritten) return;
            try
            {
                due.Write();
                _markerWritten = due.Generation;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Behind is allowed (the database leads); the next advance tries again.
                _logger.LogWarning("cannot write the spool identity marker {Marker}: {Reason}", SpoolMarker.PathFor(_path), e.Message);
            }
        }
    }
}

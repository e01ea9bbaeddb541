namespace ImLogger.Domain;

/// <summary>
/// One durable write for everything an ingest batch changes (its events, transcripts opened and closed, seats taken,
/// rooms learned, continuity): all of it is stored, or none of it. The spool is the implementation; the stages that
/// remember something in memory register how to take it back should the write fail.
/// </summary>
public interface IUnitOfWork
{
    /// <summary>Runs <paramref name="work"/> so that every store write inside it commits together, durably, when it
    /// returns; if it throws (or the commit fails), nothing of it is kept and the undo actions run. Nested calls join the
    /// outer one.</summary>
    /// <exception cref="Exception">Whatever <paramref name="work"/> or the storage threw: the caller may run it again.</exception>
    void InOneWrite(Action work);

    /// <summary>Inside <see cref="InOneWrite"/>: <paramref name="undo"/> runs if the write is not committed (latest first),
    /// to take back what the caller changed in memory. Outside one, it is ignored (each write commits on its own).</summary>
    void OnRollback(Action undo);
}

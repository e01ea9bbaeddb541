namespace ImLogger.Spool;

/// <summary>A spool record that cannot be read back as it was written: sealed under another key or altered (encrypted
/// spool), or holding what this version does not know (an event kind or conversation type written by a newer version,
/// a missing field, a value of the wrong type). Its transcript is quarantined (<see cref="LiteDbSpool.Quarantined"/>):
/// kept as it is, left out of delivery and recovery, and everything else goes on.</summary>
public sealed class SpoolRecordException : Exception
{
    /// <summary>What to do about a record that fails authentication (the default).</summary>
    public const string AlteredAdvice =
        "Restore the spool from a backup if the file was changed, or configure the key file it was written with; " +
        "then `imlogger spool release-quarantined` delivers it.";

    /// <summary>What to do about a record this version does not understand.</summary>
    public const string UnknownAdvice =
        "If a newer ImLogger version wrote it, run that version again (or upgrade to it); then `imlogger spool release-quarantined` " +
        "delivers it. If no newer version ever ran, the record was damaged: `imlogger spool show ID` shows what can be read of it.";

    /// <summary>Creates the exception.</summary>
    /// <param name="recordId">The record (e.g. "event:{transcript}:{sequence}", "transcript:{id}").</param>
    /// <param name="problem">What is wrong with it.</param>
    /// <param name="advice">What the operator can do (<see cref="AlteredAdvice"/> when null).</param>
    public SpoolRecordException(string recordId, string problem, string? advice = null)
        : base($"spool record {recordId} cannot be read: {problem}. Its transcript is quarantined (kept as it is, not delivered; " +
               $"`imlogger spool status` lists it). {advice ?? AlteredAdvice}")
    {
        RecordId = recordId;
        Problem = problem;
        Advice = advice ?? AlteredAdvice;
    }

    /// <summary>The record that failed.</summary>
    public string RecordId { get; }

    /// <summary>What is wrong with the record, without the advice.</summary>
    public string Problem { get; }

    /// <summary>What the operator can do.</summary>
    public string Advice { get; }
}

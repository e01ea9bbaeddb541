namespace ImLogger.Spool;

/// <summary>What each logged user did, per UTC day: counted as events are appended (in the append's transaction) and kept
/// after their transcripts are delivered. The port of <c>imlogger report</c>.</summary>
public interface IActivityLog
{
    /// <summary>Per logged user, the events captured and refused on UTC days from <paramref name="sinceUtc"/>'s day on, and the
    /// last event's time. Counted when events are appended, kept after the transcripts are delivered (for <c>imlogger report</c>).</summary>
    IReadOnlyList<UserActivity> Activity(DateTimeOffset sinceUtc);
}

/// <summary>Whether the spool can still be written in this run, and what it holds that nobody delivers: the port of the
/// service's start and stop, its watchdog's readers and the report.</summary>
public interface ISpoolHealth
{
    /// <summary>True once the file was found deleted, replaced or damaged: no write can succeed in this run.</summary>
    bool Lost { get; }

    /// <summary>How many transcripts are quarantined (a record of each cannot be read by this version; not delivered).</summary>
    int QuarantinedCount();
}

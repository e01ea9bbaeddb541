namespace ImLogger.Continuity;

/// <summary>One remembered fact the pipeline needs across a restart (a call in progress, a notice sent): its id,
/// its kind, when it happened (UTC), and its fields.</summary>
/// <param name="Id">Unique per fact: a newer record with the same id replaces the older.</param>
/// <param name="Kind">What it is ("call", "notice").</param>
/// <param name="AtUtc">When it happened; old records are forgotten by this time.</param>
/// <param name="Fields">Its data, as text (null for a field that has no value).</param>
public sealed record ContinuityRecord(string Id, string Kind, DateTimeOffset AtUtc, IReadOnlyDictionary<string, string?> Fields);

/// <summary>Where the pipeline's memory of calls in progress and of notices sent is kept, so that a restart neither
/// loses a call's start (its end would have no duration) nor tells people again what they were told within the hour.</summary>
public interface IContinuityStore
{
    /// <summary>Every record kept, oldest first.</summary>
    IReadOnlyList<ContinuityRecord> LoadContinuity();

    /// <summary>Writes <paramref name="upserts"/> and removes the records with ids in <paramref name="deletes"/>, in one
    /// durable write.</summary>
    void SaveContinuity(IReadOnlyList<ContinuityRecord> upserts, IReadOnlyList<string> deletes);

    /// <summary>Removes records of <paramref name="kind"/> that happened before <paramref name="beforeUtc"/>.</summary>
    /// <returns>How many were removed.</returns>
    int ForgetContinuity(string kind, DateTimeOffset beforeUtc);
}

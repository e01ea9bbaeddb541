namespace ImLogger.Dispatch;

/// <summary>Timing of the <see cref="Dispatcher"/>.</summary>
public sealed record DispatcherOptions
{
    /// <summary>How often each endpoint looks for due transcripts when nothing wakes it.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts (including the first) before a transiently failing delivery becomes dead; null (the default): no
    /// count, <see cref="RetryHorizon"/> decides.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>How long after a transcript closed its transient failures are still retried (with no
    /// <see cref="MaxAttempts"/> for the endpoint): an archive that is down for hours or a weekend catches up by itself,
    /// and only what it still refuses after this becomes a dead letter.</summary>
    public TimeSpan RetryHorizon { get; init; } = TimeSpan.FromDays(7);

    /// <summary>At start, try every waiting delivery at once instead of at the slot an earlier process gave it (the
    /// operator restarts after fixing an endpoint); the endpoint's first failure puts the rest back on their slots.</summary>
    public bool RetryWaitingAtStart { get; init; } = true;

    /// <summary>Attempts per endpoint name, overriding <see cref="MaxAttempts"/> (the config's <c>max-attempts</c>).</summary>
    public IReadOnlyDictionary<string, int> EndpointMaxAttempts { get; init; } = new Dictionary<string, int>();

    /// <summary>Retries within one pass (Polly, exponential backoff with jitter) before a transient failure counts as an
    /// attempt in the spool. 0 turns them off.</summary>
    public int QuickRetries { get; init; } = 2;

    /// <summary>Delay before the first quick retry; doubles for the next, with jitter.</summary>
    public TimeSpan QuickRetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Delay before the first retry; doubles with every further failure.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound of the retry delay (jitter included).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The least wait before trying again after an attempt whose outcome was unknown (the server had the whole
    /// message but its reply never came, <see cref="Sinks.SinkException.OutcomeUnknown"/>): no quick retries, and minutes
    /// rather than seconds, so a server that is slow to answer is not sent copy after copy.</summary>
    public TimeSpan UnknownOutcomeRetryDelay { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Transcripts one endpoint takes from the spool per pass.</summary>
    public int BatchSize { get; init; } = 50;

    /// <summary>How often the same "no such endpoint" error is repeated while the dispatcher runs.</summary>
    public TimeSpan UnknownEndpointReportInterval { get; init; } = TimeSpan.FromMinutes(10);
}

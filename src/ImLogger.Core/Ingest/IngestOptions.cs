namespace ImLogger.Ingest;

/// <summary>How the ingest loop batches, waits and stops. The defaults are the ones `imlogger run` uses.</summary>
public sealed record IngestOptions
{
    /// <summary>Inline mode (held stanzas wait for verdicts) rather than tap (copies).</summary>
    public required bool Inline { get; init; }

    /// <summary>The spool file, named in the log when it cannot be written.</summary>
    public string SpoolPath { get; init; } = "";

    /// <summary>How far back a restart recalls stored events, so a request sent again is archived once.</summary>
    public TimeSpan DedupWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Inline: how long the server's module keeps a held stanza and may send it again (its
    /// <c>imlogger_timeout</c>, from <c>&lt;attach timeout&gt;</c>). A restart recalls at least this far back, and remembers
    /// what it recalled at least this long, so a request stored before a crash and sent again after a slow restart is
    /// archived once, whatever the dedup window.</summary>
    public TimeSpan ResentWithin { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Tap mode: stanzas per spool write.</summary>
    public int MaxBatch { get; init; } = 512;

    /// <summary>Inline mode: verdict requests per batch (each carries up to the module's imlogger_batch_size stanzas, 100 by
    /// default). Verdicts go out once their batch is stored: after a restart the module sends what it kept all at once,
    /// and answering it in slices keeps the oldest stanzas from waiting for the whole backlog to be stored.</summary>
    public int InlineMaxBatch { get; init; } = 4;

    /// <summary>Tap mode: a batch smaller than <see cref="MaxBatch"/> waits this long for more copies before it is stored,
    /// so that at low rates one fsync covers several stanzas instead of one each (group commit). Nothing waits on a
    /// tap copy; a longer wait saves little more CPU and its bursts delay Prosody (docs/performance.md). Inline mode stores
    /// at once (a held stanza waits for its verdict).</summary>
    public TimeSpan TapLinger { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Inline: a graceful stop waits at most this long for the requests already read to be stored and answered.</summary>
    public TimeSpan AnswerBeforeStop { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stanzas the reader queues ahead of the loop. Bounded: when the spool falls behind, the reader stops
    /// reading and TCP pushes back on the server.</summary>
    public int QueueCapacity { get; init; } = 4096;
}

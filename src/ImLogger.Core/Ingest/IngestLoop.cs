using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;

namespace ImLogger.Ingest;

/// <summary>
/// The receiving half of DESIGN.md's pipeline as one loop: read a batch from the server, have the stages decode,
/// classify, decide and notify once, store it (retried until durable), then send the replies in order (verdicts first).
/// One reader (the connection) feeds a bounded queue; one loop processes it, so stanzas keep their order. The host only
/// starts it (<see cref="RunAsync"/>) and stops it (cancels the token); when <see cref="RunAsync"/> returns, everything
/// read from the server is stored and answered.
/// </summary>
public sealed partial class IngestLoop(
    IStanzaConnection connection,
    IIngestStages stages,
    ITranscriptReader spool,
    CopyDeduplicator dedup,
    IngestOptions options,
    TimeProvider time,
    ILogger<IngestLoop> logger)
{
    private readonly Channel<XElement> _queue = Channel.CreateBounded<XElement>(
        new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    private volatile bool _readingEnded;
    private Exception? _failure;

    /// <summary>Stanzas taken off the stream before the queue (the server side's signs of life): true when handled, and
    /// then never archived.</summary>
    public Func<XElement, bool>? Signals { get; init; }

    /// <summary>Called when storing a batch closed transcripts (the dispatcher wakes up for them).</summary>
    public Action? TranscriptsClosed { get; init; }

    /// <summary>True once the spool is gone for this run (deleted, replaced, damaged): a store that fails then is not
    /// retried, and what was read stays unanswered.</summary>
    public Func<bool> SpoolLost { get; init; } = static () => false;

    /// <summary>The spool's records of answered verdict requests, recalled at start with the open transcripts
    /// (<see cref="RecallRecentEvents"/>); null: the open transcripts alone.</summary>
    public ImLogger.Domain.IAnsweredRequests? Answered { get; init; }

    /// <summary>Events stored since start.</summary>
    public long SpooledCount => stages.SpooledCount;

    /// <summary>
    /// Reads from the server and processes what it reads until <paramref name="stop"/> is cancelled, then stops as the
    /// mode requires (tap: the connection drains at once; inline: the requests already read are stored and answered
    /// first, and those arriving after are left for the next start).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> was cancelled (the normal end).</exception>
    /// <exception cref="Exception">The processing loop failed or ended on its own (logged at Critical here); reading
    /// stopped with it, and whatever the connection threw (<see cref="IStanzaConnection.RunAsync"/>).</exception>
    public async Task RunAsync(CancellationToken stop)
    {
        var connectionStop = new CancellationTokenSource();
        using var onStop = stop.Register(() => StopConnection(connectionStop));
        var processing = Task.Run(() => ProcessAsync(_queue.Reader), CancellationToken.None);
        var watch = processing.ContinueWith(t => EndedEarly(t, connectionStop), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await connection.RunAsync((stanza, ct) => Signals?.Invoke(stanza) == true || LeftForNextStart(stanza) ? ValueTask.CompletedTask : Enqueue(stanza, ct),
                connectionStop.Token);
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _failure) != null)
        {
        }
        finally
        {
            _readingEnded = true;
            _queue.Writer.TryComplete();
            await watch; // everything read from the server is in the spool and answered (unless the loop failed: logged)
            // connectionStop is not disposed: the inline stop (StopConnection) may still be about to cancel it.
        }
        if (Volatile.Read(ref _failure) is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>The processing loop ended while reading went on: it failed (or the spool is gone), and nothing read from
    /// now on could be stored or answered. Reading stops; the host stops and starts again from the spool.</summary>
    private void EndedEarly(Task processing, CancellationTokenSource connectionStop)
    {
        if (_readingEnded && !processing.IsFaulted) return;
        var error = processing.Exception is { } e ? (e.InnerExceptions.Count == 1 ? e.InnerExceptions[0] : e)
            : new InvalidOperationException("the spooling loop ended while the service was running");
        Volatile.Write(ref _failure, error);
        logger.LogCritical(error, "{Loop} failed ({Problem}: {Message}); ImLogger stops so that it starts again from the spool",
            "the spooling loop", error.GetType().Name, error.Message);
        if (!_readingEnded) connectionStop.Cancel();
    }

    /// <summary>Classifies each batch once, then stores it, retrying the store until it succeeds: a spool
    /// that cannot write (disk full) must hold the line rather than drop what was received.
    /// Tap copies linger a moment for more to fill the batch, except once reading has ended (a stop stores what is left
    /// at once).</summary>
    private async Task ProcessAsync(ChannelReader<XElement> reader)
    {
        var max = options.Inline ? options.InlineMaxBatch : options.MaxBatch;
        var batch = new List<XElement>(max);
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < max && reader.TryRead(out var s)) batch.Add(s);
            if (batch.Count < max && !options.Inline && !_readingEnded && !reader.Completion.IsCompleted)
            {
                await Task.Delay(options.TapLinger, time);
                while (batch.Count < options.MaxBatch && reader.TryRead(out var s)) batch.Add(s);
            }
            var (events, replies) = stages.Classify(batch);
            if (!await StoreAsync(events)) return;
            var sent = await SendAsync(replies);
            AnsweredBatch(batch.Count); // answered: a stop may close the stream; what became of the notices is stored next
            if (sent.Count > 0) StoreOutcomes(sent);
        }
    }

    /// <returns>False when the spool is lost: unanswered (inline: the server's fail-closed refuses them); nothing more can
    /// be made durable in this run.</returns>
    private async Task<bool> StoreAsync(IReadOnlyList<ConversationEvent> events)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (stages.Store(events).Count > 0) TranscriptsClosed?.Invoke();
                return true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (SpoolLost()) return false;
                var delay = TimeSpan.FromSeconds(Math.Min(30, attempt));
                logger.Log(attempt == 1 || attempt % 30 == 0 ? LogLevel.Error : LogLevel.Debug,
                    "Cannot write {Count} event(s) to the spool {Spool} (attempt {Attempt}): {Reason}. Reading from the server is paused until it works; check free disk space and permissions.",
                    events.Count, options.SpoolPath, attempt, e.Message);
                await Task.Delay(delay, time);
            }
        }
    }

    /// <summary>What became of the batch's notices, stored once. The batch is answered already, so no wait here: a retry on
    /// the clock after a stop (or with the spool closed) would never end. A notice whose outcome is not stored reads as
    /// "NOT CONFIRMED SENT" in its transcript, which is what is known of it.</summary>
    private void StoreOutcomes(IReadOnlyList<ConversationEvent> outcomes)
    {
        try
        {
            if (stages.Store(outcomes).Count > 0) TranscriptsClosed?.Invoke();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("What became of {Count} archive notice(s) was not stored ({Reason}); their transcripts say NOT CONFIRMED SENT",
                outcomes.Count, e.Message);
        }
    }

    /// <summary>The batch's replies, in order: verdicts before the notices and queries that follow from them.</summary>
    /// <returns>What became of them, to store (a notice is recorded as sent only once it went out).</returns>
    private async Task<IReadOnlyList<ConversationEvent>> SendAsync(IReadOnlyList<XElement> replies)
    {
        var outcomes = new (XElement Reply, string? Failure)[replies.Count];
        for (var i = 0; i < replies.Count; i++)
        {
            var reply = replies[i];
            if (await connection.TrySendAsync(reply, CancellationToken.None))
            {
                outcomes[i] = (reply, null);
                continue;
            }
            outcomes[i] = (reply, NotConnected);
            var isNotice = ((string?)reply.Attribute("id"))?.StartsWith(Outbound.OutboundStanzas.NoticeIdPrefix, StringComparison.Ordinal) == true;
            logger.Log(isNotice ? LogLevel.Warning : LogLevel.Debug, "{What} to {To} not sent: {Reason}; the transcript says so",
                isNotice ? "Archive notice" : "Reply", (string?)reply.Attribute("to"), NotConnected);
        }
        return replies.Count == 0 ? [] : stages.Sent(outcomes);
    }

    /// <summary>Why a reply did not go out when the connection was down.</summary>
    internal const string NotConnected = "not connected to the server";
}

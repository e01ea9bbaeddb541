using System.Threading.Channels;
using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Pipeline;
using ImLogger.Spool;
using ImLogger.Xmpp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// The component's life: one reader (the XEP-0114 connection) feeding a bounded queue, one loop
/// classifying and spooling in batches, a timer closing idle conversations, and the dispatcher
/// delivering closed transcripts. On stop, everything already read is spooled, open transcripts are
/// closed and one last delivery pass runs.
/// </summary>
internal sealed partial class ArchiveService(
    ImLoggerConfig config,
    Seats.SeatLedger seats,
    ComponentConnection connection,
    StanzaPipeline pipeline,
    Classifier.CopyDeduplicator dedup,
    ConversationTracker tracker,
    ISpool spool,
    Dispatcher dispatcher,
    AdapterWatchService adapters,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ArchiveService> logger) : BackgroundService
{
    private const int MaxBatch = 512;

    /// <summary>Inline mode: verdict requests per batch (each carries up to the module's imlogger_batch_size stanzas, 100 by
    /// default). Verdicts go out once their batch is stored: after a restart the module sends what it kept all at once,
    /// and answering it in slices keeps the oldest stanzas from waiting for the whole backlog to be stored.</summary>
    private const int InlineMaxBatch = 4;

    /// <summary>Tap mode: a batch smaller than <see cref="MaxBatch"/> waits this long for more copies before it is stored,
    /// so that at low rates one fsync covers several stanzas instead of one each (group commit). Nothing waits on a
    /// tap copy; a longer wait saves little more CPU and its bursts delay Prosody (docs/performance.md). Inline mode stores
    /// at once (a held stanza waits for its verdict).</summary>
    private static readonly TimeSpan TapLinger = TimeSpan.FromMilliseconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var resumed = tracker.Resume();
        var recalled = RecallRecentEvents();
        if (recalled > 0)
            logger.LogInformation("Recalled {Count} event(s) received in the last {Window}: a verdict request the server sends again is archived once", recalled, config.DedupWindow);
        var undelivered = spool.Backlog().Sum(b => b.Pending + b.Dead);
        WarnOfQuarantine();
        logger.LogInformation(
            "ImLogger starting: component {Component}; {Users} logged user(s) in {Orgs} organization(s){ByDefault}; endpoints {Endpoints}; spool {Spool} ({Resumed} open conversation(s) resumed, {Undelivered} transcript(s) awaiting delivery)",
            config.Component, seats.Plan.LoggedCount, config.Organizations.Count,
            config.Organizations.Any(o => o.LoggedByDefault)
                ? $" (logged by default: {string.Join(", ", config.Organizations.Where(o => o.LoggedByDefault).Select(o => $"{o.Name}, {seats.Plan.Organizations.First(s => s.Organization == o).Used} of {o.Seats} seat(s) taken"))})"
                : "",
            string.Join(", ", config.Endpoints.Select(e => e.Name)),
            config.SpoolPath, resumed, undelivered);

        // Bounded: when the spool falls behind, the reader stops reading and TCP pushes back on the server.
        var queue = Channel.CreateBounded<XElement>(new BoundedChannelOptions(4096) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        using var background = new CancellationTokenSource();
        using var connectionStop = new CancellationTokenSource();
        using var onStop = stoppingToken.Register(() => StopConnection(connectionStop));
        var processing = Task.Run(() => ProcessAsync(queue.Reader), CancellationToken.None);
        var dispatching = dispatcher.RunAsync(background.Token);
        StopIfItEnds(processing, "the spooling loop");
        StopIfItEnds(dispatching, "the delivery loop");
        var closing = CloseIdleAsync(background.Token);
        try
        {
            // The server side's signs of life are not traffic: they are taken off the stream here, never archived.
            await connection.RunAsync((stanza, ct) => adapters.TryHandle(stanza) || LeftForNextStart(stanza) ? ValueTask.CompletedTask : Enqueue(queue.Writer, stanza, ct),
                connectionStop.Token);
        }
        catch (ComponentFatalException e)
        {
            // The connection already logged the reason at Error, in full: one line for the operator, not two.
            logger.LogInformation("ImLogger stops with exit code 2 ({Condition}): it cannot attach without a configuration change", e.Condition);
            Environment.ExitCode = 2;
            lifetime.StopApplication();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _stopping = true;
            queue.Writer.TryComplete();
            await Settled(processing);        // everything read from the server is in the spool (unless the loop failed: logged)
            if (spool is not LiteDbSpool { Lost: true }) // a deleted or damaged spool takes no more writes (SpoolWatchService)
            {
                var closed = tracker.CloseAll();  // graceful stop: open conversations become transcripts now
                logger.LogInformation("Stopping: {Spooled} event(s) spooled this run; {Closed} open transcript(s) closed for delivery", pipeline.SpooledCount, closed.Count);
                using var lastPass = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try { await dispatcher.DeliverDueAsync(lastPass.Token); }
                catch (OperationCanceledException) { logger.LogWarning("Delivery still pending at stop; it resumes at the next start"); }
            }
            await background.CancelAsync();
            await Task.WhenAll(dispatching, closing).ContinueWith(_ => { }, TaskScheduler.Default);
            await connection.DisposeAsync();
        }
        ThrowIfALoopFailed();
    }

    /// <summary>Classifies each batch once, then stores it, retrying the store until it succeeds: a spool
    /// that cannot write (disk full) must hold the line rather than drop what was received.</summary>
    private async Task ProcessAsync(ChannelReader<XElement> reader)
    {
        var max = config.Attach.Mode == AttachMode.Inline ? InlineMaxBatch : MaxBatch;
        var batch = new List<XElement>(max);
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < max && reader.TryRead(out var s)) batch.Add(s);
            if (batch.Count < max && config.Attach.Mode == AttachMode.Tap && !reader.Completion.IsCompleted)
            {
                await Task.Delay(TapLinger, time);
                while (batch.Count < MaxBatch && reader.TryRead(out var s)) batch.Add(s);
            }
            var (events, replies) = pipeline.Classify(batch);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    if (pipeline.Store(events).Count > 0) dispatcher.Wake();
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Unanswered (inline: the server's fail-closed refuses them); nothing more can be made durable in this run.
                    if (spool is LiteDbSpool { Lost: true }) return;
                    var delay = TimeSpan.FromSeconds(Math.Min(30, attempt));
                    logger.Log(attempt == 1 || attempt % 30 == 0 ? LogLevel.Error : LogLevel.Debug,
                        "Cannot write {Count} event(s) to the spool {Spool} (attempt {Attempt}): {Reason}. Reading from the server is paused until it works; check free disk space and permissions.",
                        events.Count, config.SpoolPath, attempt, e.Message);
                    await Task.Delay(delay, time);
                }
            }
            foreach (var reply in replies)
            {
                try { await connection.SendAsync(reply, CancellationToken.None); }
                catch (ComponentNotConnectedException)
                {
                    // A notice is already recorded in the transcript; the operator must know it did not go out.
                    var isNotice = ((string?)reply.Attribute("id"))?.StartsWith("imlogger-notice-", StringComparison.Ordinal) == true;
                    logger.Log(isNotice ? LogLevel.Warning : LogLevel.Debug, "{What} to {To} not sent: not connected to the server",
                        isNotice ? "Archive notice" : "Reply", (string?)reply.Attribute("to"));
                }
            }
            AnsweredBatch(batch.Count);
        }
    }

    private async Task CloseIdleAsync(CancellationToken token)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(config.IdleClose.Ticks / 4, TimeSpan.FromMilliseconds(200).Ticks, TimeSpan.FromSeconds(5).Ticks));
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                try
                {
                    if (tracker.CloseIdle().Count > 0) dispatcher.Wake();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError("Cannot close idle conversations: {Reason}; retrying", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

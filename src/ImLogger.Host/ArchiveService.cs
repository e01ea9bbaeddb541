using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Ingest;
using ImLogger.Spool;
using ImLogger.Xmpp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// The component's life: the ingest loop (Core's <see cref="IngestLoop"/>: read, classify, store, reply), a timer
/// closing idle conversations, and the dispatcher delivering closed transcripts. On stop, the ingest loop stores and
/// answers everything already read, open transcripts are closed and one last delivery pass runs.
/// </summary>
internal sealed partial class ArchiveService(
    ImLoggerConfig config,
    Seats.SeatLedger seats,
    ComponentConnection connection,
    IngestLoop ingest,
    ConversationTracker tracker,
    IDeliveryQueue queue,
    ISpoolHealth spoolHealth,
    Dispatcher dispatcher,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ArchiveService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        StartupTimeline.Mark("services built, spool opened", logger); // the spool opens as the services are built
        var resumed = tracker.Resume();
        StartupTimeline.Mark("open conversations resumed", logger);
        var recalled = ingest.RecallRecentEvents();
        StartupTimeline.Mark("recent events recalled", logger);
        if (recalled > 0)
            logger.LogInformation("Recalled {Count} recent event(s) of the open conversations: a verdict request the server sends again is archived once", recalled);
        var undelivered = queue.Backlog().Sum(b => b.Pending + b.Dead);
        WarnOfQuarantine();
        logger.LogInformation(
            "ImLogger starting: component {Component}; {Users} logged user(s) in {Orgs} organization(s){ByDefault}; endpoints {Endpoints}; spool {Spool} ({Resumed} open conversation(s) resumed, {Undelivered} transcript(s) awaiting delivery)",
            config.Component, seats.Plan.LoggedCount, config.Organizations.Count,
            config.Organizations.Any(o => o.LoggedByDefault)
                ? $" (logged by default: {string.Join(", ", config.Organizations.Where(o => o.LoggedByDefault).Select(o => $"{o.Name}, {seats.Plan.Organizations.First(s => s.Organization == o).Used} of {o.Seats} seat(s) taken"))})"
                : "",
            string.Join(", ", config.Endpoints.Select(e => e.Name)),
            config.SpoolPath, resumed, undelivered);

        using var background = new CancellationTokenSource();
        var dispatching = dispatcher.RunAsync(background.Token);
        StopIfItEnds(dispatching, "the delivery loop");
        var closing = CloseIdleAsync(background.Token);
        StartupTimeline.Mark("delivery started, connecting", logger);
        try
        {
            // Reads, classifies, stores and answers until the stop; then everything read is stored and answered.
            await ingest.RunAsync(stoppingToken);
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
        catch (Exception e)
        {
            // The spooling loop failed or ended (IngestLoop logged it at Critical): stop, and start again from the spool.
            Interlocked.CompareExchange(ref _loopFailure, e, null);
            lifetime.StopApplication();
        }
        finally
        {
            _stopping = true;
            if (!spoolHealth.Lost) // a deleted or damaged spool takes no more writes (SpoolWatchService)
            {
                var closed = tracker.CloseAll();  // graceful stop: open conversations become transcripts now
                logger.LogInformation("Stopping: {Spooled} event(s) spooled this run; {Closed} open transcript(s) closed for delivery", ingest.SpooledCount, closed.Count);
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

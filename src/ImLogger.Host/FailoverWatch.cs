using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Xmpp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// Failover (docs/failover.md), on the service's side: follows the component connection's state and splits transcripts
/// where the component changes hands, saying so in each part. Taking over: the transcripts opened within the idle time
/// start with "continued from". Finding another instance holding the component (after a crash of this one, or a
/// kick_old replacement): the transcripts open here close with "continued at another instance" and are delivered. A
/// graceful stop of a failover instance closes them with the same note. Also what <c>imlogger report</c> says of the instance.
/// </summary>
/// <remarks>A hosted service only to be built before the connection runs; it has nothing to start or stop itself.</remarks>
internal sealed class FailoverWatch : IHostedService
{
    private readonly ImLoggerConfig _config;
    private readonly ComponentConnection _connection;
    private readonly ConversationTracker _tracker;
    private readonly Dispatcher _dispatcher;
    private readonly TimeProvider _time;
    private readonly ILogger<FailoverWatch> _logger;
    private readonly DateTimeOffset _started;
    private DateTimeOffset? _lostAt;
    private ComponentLinkState _previous = ComponentLinkState.Connecting;

    public FailoverWatch(ImLoggerConfig config, ComponentConnection connection, ConversationTracker tracker, Dispatcher dispatcher,
        IHostApplicationLifetime lifetime, TimeProvider time, ILogger<FailoverWatch> logger)
    {
        (_config, _connection, _tracker, _dispatcher, _time, _logger) = (config, connection, tracker, dispatcher, time, logger);
        _started = time.GetUtcNow();
        Instance = config.Failover?.Instance ?? Environment.MachineName;
        connection.StatusChanged += OnStatusChanged;
        // Before the service's own stop closes the open transcripts: the standby takes their conversations over.
        if (config.Failover is not null)
            lifetime.ApplicationStopping.Register(() => tracker.ClosingNote = Note(
                $"ImLogger instance {Instance} stopped at {Utc(_time.GetUtcNow())}; if the standby instance takes over, the rest of this conversation is in its archive (failover)"));
    }

    /// <summary>This instance's name in transcripts and reports.</summary>
    public string Instance { get; }

    /// <summary>One line for <c>imlogger report</c>: active (connected and receiving) or standby (waiting since...).</summary>
    public string ReportLine()
    {
        var s = _connection.Status;
        var role = _config.Failover is { Role: FailoverRole.Standby } ? "configured standby" : _config.Failover is null ? "single instance" : "configured active";
        var head = $"instance {Instance} ({role}) for component {_config.Component.Jid}";
        return s.State switch
        {
            ComponentLinkState.Active => $"ACTIVE: {head}: connected and receiving since {Utc(s.SinceUtc)}" + (s.TookOver ? " (took over from another instance then)" : "") + StartTook(),
            ComponentLinkState.Standby => $"STANDBY: {head}: another connection holds the component; waiting since {Utc(s.SinceUtc)} ({s.StandbyAttempts} attempt(s) refused), takes over when that connection ends",
            _ => $"NOT CONNECTED: {head}: " + (s.SinceUtc == DateTimeOffset.MinValue ? "starting" : $"since {Utc(s.SinceUtc)}") +
                 (s.Problem is null ? "" : $": {s.Problem}") + (_config.Failover is { Role: FailoverRole.Standby } ? "; as long as this lasts it cannot take over" : ""),
        };
    }

    // In inline mode the server holds stanzas only for its timeout while ImLogger restarts: the operator sees the margin.
    private static string StartTook() => StartupTimeline.LastStart is { } took
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"; this process started and connected in {took.TotalSeconds:0.0} s")
        : "";

    private void OnStatusChanged(ComponentStatus status)
    {
        if (_previous == ComponentLinkState.Active) _lostAt = status.SinceUtc;
        _previous = status.State;
        switch (status.State)
        {
            case ComponentLinkState.Active when status.TookOver:
                _tracker.ContinuingFrom(Note($"Continued from the ImLogger instance that was active before {Instance} took over at {Utc(status.SinceUtc)} (failover): " +
                                             "the earlier part of this conversation, if any, is in that instance's archive"), _config.IdleClose);
                break;
            case ComponentLinkState.Standby:
                var when = _lostAt is { } lost ? $"lost the component at {Utc(lost)}" : $"restarted at {Utc(_started)}";
                var closed = _tracker.CloseForFailover(Note($"Continued at another ImLogger instance: {Instance} {when} and another instance holds the component now " +
                                                            "(failover); the rest of this conversation is in that instance's archive"));
                if (closed.Count > 0)
                {
                    _logger.LogInformation("Another instance holds the component: closed {Count} open transcript(s) here, each ending with a note that its conversation continues there", closed.Count);
                    _dispatcher.Wake();
                }
                break;
        }
    }

    private SplitNote Note(string text) => new(_config.Component.Jid, text);

    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "Z";

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

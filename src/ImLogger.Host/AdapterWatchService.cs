using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Liveness;
using ImLogger.Xmpp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// Makes sure the server side is loaded on every organization domain (<see cref="AdapterWatch"/>): in tap mode it sends
/// the heartbeat the firewall rules return; in both modes it takes the signs of life off the stream before the pipeline
/// sees them (they are never archived), and logs an ERROR for each domain found silent, again every
/// <see cref="AttachSettings.AliveDeadline"/> (a minute by default) until it answers.
/// </summary>
internal sealed class AdapterWatchService : BackgroundService
{
    private readonly ConfigHolder _holder;
    private readonly ComponentConnection _connection;
    private readonly AdapterWatch _watch;
    private readonly TimeProvider _time;
    private readonly ILogger<AdapterWatchService> _logger;
    private readonly HashSet<string> _domains;
    private readonly Dictionary<string, long> _reported = new(StringComparer.Ordinal);

    public AdapterWatchService(ConfigHolder holder, ComponentConnection connection, AdapterWatch watch, TimeProvider time, ILogger<AdapterWatchService> logger)
    {
        _holder = holder;
        _connection = connection;
        _watch = watch;
        _time = time;
        _logger = logger;
        // The set of organization domains cannot change without a restart (ConfigHolder.NeedsRestart).
        _domains = holder.Current.Organizations.SelectMany(o => o.Domains).ToHashSet(StringComparer.Ordinal);
        connection.Connected += () =>
        {
            _watch.Connected();
            // Raised on the connection's reader: send from elsewhere.
            _ = Task.Run(SendHeartbeatsAsync);
        };
    }

    /// <summary>The watch, for <c>imlogger report</c> and <c>imlogger check-server</c>.</summary>
    public AdapterWatch Watch => _watch;

    /// <summary>Takes a sign of life (or a forged one) off the stream; false for every other stanza.</summary>
    /// <remarks>Called on the connection's reader for each stanza: answers go out without waiting for them.</remarks>
    public bool TryHandle(XElement stanza)
    {
        if (AdapterSignal.Read(stanza, _domains, _holder.Current.Component.Jid) is not { } signal) return false;
        if (signal.Rejected is { } rejected) _logger.LogWarning("Server side: {Rejected}", rejected);
        if (signal.Sign is { } sign)
        {
            if (_watch.Observe(sign))
                _logger.LogInformation("Server side loaded on {Domain}: {Detail}, generation {Generation}: the config is in force there", sign.Domain, sign.Detail, sign.Generation);
            else
                _logger.LogDebug("Server side heartbeat from {Domain}: {Detail}, generation {Generation}", sign.Domain, sign.Detail, sign.Generation);
        }
        if (signal.Reply is { } reply) _ = SendAsync(reply);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_holder.Current.Attach.Heartbeat, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Restarts itself rather than stopping the service: a heartbeat or a check that fails stops no archiving, and
                // the next tick (the heartbeat interval) is the backoff. A silent domain is still reported by the next check.
                try
                {
                    await TickAsync();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogError("Watching the server side failed ({Problem}: {Message}); tried again at the next heartbeat", e.GetType().Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task TickAsync()
    {
        if (!_connection.IsConnected)
        {
            _watch.Disconnected(); // the connection logs why, and reconnects
            return;
        }
        await SendHeartbeatsAsync();
        Report(_watch.Check());
    }

    /// <summary>An ERROR per silent domain when first found and every deadline after; a line when it answers again.</summary>
    private void Report(IReadOnlyList<AdapterStatus> statuses)
    {
        var now = _time.GetTimestamp(); // monotonic: a clock step neither silences nor repeats the error
        var repeat = _holder.Current.Attach.AliveDeadline;
        foreach (var status in statuses.Where(s => s.Domain.Length > 0))
        {
            if (status.Healthy)
            {
                if (_reported.Remove(status.Domain))
                    _logger.LogInformation("Server side answers again on {Domain}: {Status}", status.Domain, status.Text);
                continue;
            }
            if (_reported.TryGetValue(status.Domain, out var last) && _time.GetElapsedTime(last, now) < repeat) continue;
            _reported[status.Domain] = now;
            _logger.LogError("SERVER SIDE PROBLEM: {Problem}", status.Text);
        }
    }

    private async Task SendHeartbeatsAsync()
    {
        var config = _holder.Current;
        if (config.Attach.Mode != AttachMode.Tap) return; // mod_imlogger_inline sends its own
        foreach (var domain in _domains)
            await SendAsync(AdapterSignal.TapHeartbeat(config.Component.Jid, domain));
    }

    private async Task SendAsync(XElement stanza)
    {
        try
        {
            await _connection.SendAsync(stanza, CancellationToken.None);
        }
        catch (ComponentNotConnectedException)
        {
            // The next stream starts with a heartbeat of its own.
        }
    }
}

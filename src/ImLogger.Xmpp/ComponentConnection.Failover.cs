using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp;

/// <summary>Where a <see cref="ComponentConnection"/> stands towards the server.</summary>
public enum ComponentLinkState
{
    /// <summary>Not connected, and not because another instance holds the component (starting, the server unreachable,
    /// the stream just ended).</summary>
    Connecting,
    /// <summary>Connected and handshaken: the server routes the component's traffic here.</summary>
    Active,
    /// <summary>Another connection holds the component domain (the server answered the handshake with <c>conflict</c>):
    /// this one waits and tries again every <see cref="ComponentConnectionOptions.StandbyRetry"/>.</summary>
    Standby,
}

/// <summary>A snapshot of the connection's state for reports and failover decisions.</summary>
/// <param name="State">Where the connection stands.</param>
/// <param name="SinceUtc">When it entered that state.</param>
/// <param name="Problem">Why the last attempt or stream ended, when it did; null while active.</param>
/// <param name="StandbyAttempts">Attempts the server refused with <c>conflict</c> in the current standby period.</param>
/// <param name="TookOver">True in the <see cref="ComponentLinkState.Active"/> state entered after waiting as standby: this
/// instance took the component over from another one (a failover).</param>
public sealed record ComponentStatus(ComponentLinkState State, DateTimeOffset SinceUtc, string? Problem = null, int StandbyAttempts = 0, bool TookOver = false);

/// <summary>
/// Failover (docs/failover.md): two instances share one component domain; Prosody lets one connection hold it and, with
/// its default <c>component_conflict_resolve = "kick_new"</c>, answers the other's handshake with a <c>conflict</c>
/// stream error. For the loser that is not a failure but the standby state: it tries again at a steady pace
/// (<see cref="ComponentConnectionOptions.StandbyRetry"/>, not the growing backoff) and logs it once, so it takes over
/// within seconds of the active connection's end without filling either log.
/// </summary>
public sealed partial class ComponentConnection
{
    private volatile ComponentStatus _status = new(ComponentLinkState.Connecting, DateTimeOffset.MinValue);
    private DateTimeOffset? _standbySince;
    private int _standbyAttempts;
    private bool _replacedWarned;

    /// <summary>The connection's current state.</summary>
    public ComponentStatus Status => _status;

    /// <summary>Raised (on the connection's loop) when <see cref="Status"/> changes state; the argument is the new status.
    /// Entering <see cref="ComponentLinkState.Active"/> is raised before the first stanza of that stream is read.</summary>
    public event Action<ComponentStatus>? StatusChanged;

    /// <summary>The handshake succeeded: active, and a takeover when this connection had been waiting as standby.</summary>
    private void EnteredActive()
    {
        var now = _time.GetUtcNow();
        if (_standbySince is { } since)
            _logger.LogInformation("Took over the component {Component} at {Endpoint}: the connection that held it ended. This instance waited as standby since {Since:u} ({Attempts} attempt(s) refused with conflict)",
                _componentDomain, _endpoint, since, _standbyAttempts);
        SetStatus(new ComponentStatus(ComponentLinkState.Active, now, TookOver: _standbySince is not null));
        _standbySince = null;
        _standbyAttempts = 0;
    }

    /// <summary>
    /// After a stream or an attempt ended (<paramref name="failure"/> null: the server closed it cleanly): updates the
    /// status and, when another connection holds the component, logs the standby once and returns the steady retry delay.
    /// Null: an ordinary failure, which the caller logs and retries with backoff.
    /// </summary>
    private TimeSpan? AfterStreamEnded(Exception? failure, string reason, Backoff backoff)
    {
        var now = _time.GetUtcNow();
        var wasActive = _status.State == ComponentLinkState.Active;
        if (failure is not RetryableStreamErrorException { Error.Condition: "conflict" })
        {
            SetStatus(new ComponentStatus(ComponentLinkState.Connecting, wasActive ? now : _status.State == ComponentLinkState.Connecting ? _status.SinceUtc : now, reason));
            return null;
        }

        _standbyAttempts++;
        if (wasActive)
        {
            // Established, then replaced: only kick_old does that. Retrying at the standby pace would take the component
            // back within seconds, and the other instance would do the same: they would fight. So the slow pace, and an Error.
            _standbySince ??= now;
            SetStatus(new ComponentStatus(ComponentLinkState.Standby, now, reason, _standbyAttempts));
            if (!_replacedWarned)
                _logger.LogError("Another connection took the component {Component} from this one at {Endpoint}: Prosody is set to component_conflict_resolve = \"kick_old\", " +
                                 "so two ImLogger instances would take it from each other in turn. Set component_conflict_resolve = \"kick_new\" (Prosody's default) in the " +
                                 "Component section and reload Prosody: the connected instance then keeps it and the other waits as standby. Retrying only every {Seconds:0} s meanwhile",
                    _componentDomain, _endpoint, _options.MaxReconnectDelay.TotalSeconds);
            _replacedWarned = true;
            backoff.Reset();
            return _options.MaxReconnectDelay;
        }

        backoff.Reset();
        var retry = _options.StandbyRetry * (0.8 + 0.4 * Random.Shared.NextDouble());
        if (_standbySince is null)
        {
            _standbySince = now;
            if (_options.Standby)
                _logger.LogInformation("Standby: another instance holds the component {Component} at {Endpoint}; this one takes over when that connection ends " +
                                       "(trying every {Seconds:0.#} s; Prosody logs each refused attempt as \"Second component attempted to connect\")",
                    _componentDomain, _endpoint, _options.StandbyRetry.TotalSeconds);
            else
                _logger.LogWarning("{Reason}; retrying in {DelaySeconds:0.0} s and every {Seconds:0.#} s after, as standby: this instance takes over when that connection ends. " +
                                   "It is not configured as a standby (<failover role=\"standby\"/>): if a second instance is meant to run, configure it so; if not, find what holds " +
                                   "the component (Prosody's log names the connection) or wait for the server to drop a stale session",
                    reason, retry.TotalSeconds, _options.StandbyRetry.TotalSeconds);
            SetStatus(new ComponentStatus(ComponentLinkState.Standby, now, reason, _standbyAttempts));
        }
        else
        {
            _logger.LogDebug("Still standby for {Component}: refused with conflict ({Attempts} attempt(s) since {Since:u})", _componentDomain, _standbyAttempts, _standbySince);
            if (_status.State != ComponentLinkState.Standby)
                SetStatus(new ComponentStatus(ComponentLinkState.Standby, now, reason, _standbyAttempts));
            else
                _status = _status with { StandbyAttempts = _standbyAttempts };
        }
        return retry;
    }

    private void SetStatus(ComponentStatus status)
    {
        var changed = status.State != _status.State;
        _status = status;
        if (!changed) return;
        try
        {
            StatusChanged?.Invoke(status);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A subscriber's bug must not tear down the connection; it is reported, not swallowed silently.
            _logger.LogError(ex, "A StatusChanged event handler failed");
        }
    }
}

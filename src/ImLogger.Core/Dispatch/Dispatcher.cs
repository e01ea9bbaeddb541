using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Sinks;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using System.Runtime.CompilerServices;

namespace ImLogger.Dispatch;

/// <summary>
/// Delivers closed transcripts from the spool to their endpoints, and deletes them from the spool only once
/// every endpoint confirmed delivery.
/// </summary>
/// <remarks>
/// Each endpoint is served independently (in <see cref="RunAsync"/> by its own loop; in
/// <see cref="DeliverDueAsync"/> concurrently), so an endpoint that is down or slow never delays the others.
/// Retries happen on two time scales. Within a pass, a Polly retry pipeline (exponential backoff with jitter,
/// <see cref="DispatcherOptions.QuickRetries"/>) rides out a blip: a dropped connection, a greylisting 4xx. When those
/// are used up, the failure counts as one attempt in the spool and the next attempt is scheduled there, durably, with
/// exponential backoff and jitter (<see cref="RetryDelay"/>): a schedule that must survive a restart cannot live in an
/// in-memory policy. That ends the endpoint's pass (the endpoint is probably down: no point hammering it with the rest of
/// its queue). After the endpoint's maximum attempts or on a permanent failure the delivery is marked dead, with the
/// reason, and kept.
/// </remarks>
public sealed class Dispatcher
{
    /// <summary>When this dispatcher started: the retry horizon counts from it for transcripts closed before.</summary>
    private readonly DateTimeOffset _startedUtc;
    private readonly IDeliveryQueue _queue;
    private readonly ITranscriptReader _transcripts;
    private readonly IReadOnlyList<ITranscriptSink> _sinks;
    private readonly ILogger<Dispatcher> _logger;
    private readonly TimeProvider _time;
    private readonly DispatcherOptions _options;
    private readonly Dictionary<string, SemaphoreSlim> _wakeSignals;
    private readonly Dictionary<string, DateTimeOffset> _unknownReported = new(StringComparer.Ordinal);
    private readonly object _unknownGate = new();
    private readonly ResiliencePipeline _quickRetry;
    private readonly RetrySchedule _retries;

    /// <summary>One pass at a time per endpoint: the endpoint's loop and a <see cref="DeliverDueAsync"/> (the final pass at
    /// shutdown) would otherwise both take the same due transcript and send it twice.</summary>
    private readonly Dictionary<string, SemaphoreSlim> _passGates;

    /// <summary>Per endpoint: its last attempt failed transiently (probably down), so its next pass probes it with one
    /// transcript. Read and written only under the endpoint's pass gate.</summary>
    private readonly Dictionary<string, StrongBox<bool>> _down;

    /// <summary>Creates the dispatcher.</summary>
    /// <param name="queue">The delivery queue: what is due, and each attempt's outcome.</param>
    /// <param name="transcripts">Where the transcripts it delivers are loaded from (the same spool).</param>
    /// <param name="sinks">The configured endpoints (names must be unique).</param>
    /// <param name="logger">Logger.</param>
    /// <param name="time">Clock (and timers).</param>
    /// <param name="options">Timing.</param>
    /// <exception cref="ArgumentException">Two endpoints have the same name, or an option is out of range.</exception>
    public Dispatcher(IDeliveryQueue queue, ITranscriptReader transcripts, IEnumerable<ITranscriptSink> sinks, ILogger<Dispatcher> logger, TimeProvider time, DispatcherOptions options)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(transcripts);
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(options);
        (_queue, _transcripts) = (queue, transcripts);
        _sinks = sinks.ToList();
        _logger = logger;
        _time = time;
        _options = options;
        var duplicate = _sinks.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two endpoints are named '{duplicate.Key}'.", nameof(sinks));
        if (options.PollInterval <= TimeSpan.Zero) throw new ArgumentException("PollInterval must be positive.", nameof(options));
        if (options.MaxAttempts is < 1) throw new ArgumentException("MaxAttempts must be at least 1.", nameof(options));
        if (options.RetryHorizon <= TimeSpan.Zero) throw new ArgumentException("RetryHorizon must be positive.", nameof(options));
        if (options.InitialRetryDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.InitialRetryDelay)
            throw new ArgumentException("Retry delays must be positive and MaxRetryDelay >= InitialRetryDelay.", nameof(options));
        if (options.BatchSize < 1) throw new ArgumentException("BatchSize must be at least 1.", nameof(options));
        if (options.QuickRetries < 0 || (options.QuickRetries > 0 && options.QuickRetryDelay <= TimeSpan.Zero))
            throw new ArgumentException("QuickRetries must be >= 0 and QuickRetryDelay positive.", nameof(options));
        if (options.EndpointMaxAttempts.Values.Any(v => v < 1))
            throw new ArgumentException("EndpointMaxAttempts values must be at least 1.", nameof(options));
        _wakeSignals = _sinks.ToDictionary(s => s.Name, _ => new SemaphoreSlim(0, 1), StringComparer.Ordinal);
        _passGates = _sinks.ToDictionary(s => s.Name, _ => new SemaphoreSlim(1, 1), StringComparer.Ordinal);
        _down = _sinks.ToDictionary(s => s.Name, _ => new StrongBox<bool>(), StringComparer.Ordinal);
        _quickRetry = BuildQuickRetry();
        _startedUtc = time.GetUtcNow();
        _retries = new RetrySchedule(time, options.MaxRetryDelay > options.UnknownOutcomeRetryDelay ? options.MaxRetryDelay : options.UnknownOutcomeRetryDelay,
            options.RetryWaitingAtStart);
    }

    /// <summary>Retries a transient failure within the pass (SinkException with IsTransient, or an unexpected exception
    /// from a sink); a permanent SinkException and our own cancellation pass straight through.</summary>
    private ResiliencePipeline BuildQuickRetry()
    {
        if (_options.QuickRetries == 0) return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    // Never at once after an unknown outcome: the server may have the message, and every quick resend is
                    // another copy (RFC 1047).
                    .Handle<SinkException>(e => e.IsTransient && !e.OutcomeUnknown)
                    .Handle<Exception>(e => e is not SinkException and not OperationCanceledException),
                MaxRetryAttempts = _options.QuickRetries,
                Delay = _options.QuickRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    // Seconds, not a TimeSpan: the log would read "00:00:01.2340000".
                    _logger.LogDebug("delivery failed ({Error}); retrying in {DelaySeconds:0.0} s (quick retry {Attempt} of {Max})",
                        args.Outcome.Exception?.Message, args.RetryDelay.TotalSeconds, args.AttemptNumber + 1, _options.QuickRetries);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Attempts before a delivery to <paramref name="endpoint"/> becomes dead.</summary>
    private int? MaxAttemptsFor(string endpoint) =>
        _options.EndpointMaxAttempts.TryGetValue(endpoint, out var max) ? max : _options.MaxAttempts;

    /// <summary>Starts delivery at once instead of at the next poll (the pipeline closed a transcript).</summary>
    public void Wake()
    {
        foreach (var signal in _wakeSignals.Values)
        {
            try
            {
                if (signal.CurrentCount == 0) signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
        }
    }

    /// <summary>Tries the waiting deliveries of <paramref name="endpoint"/> (or of every endpoint) now instead of at their
    /// scheduled slots, and starts the pass at once: the operator fixed the endpoint (<c>imlogger spool retry</c>).</summary>
    /// <remarks>As at a start, the endpoint's first failure puts the rest back on their slots.</remarks>
    /// <returns>The endpoints this dispatcher serves that were asked (none when <paramref name="endpoint"/> is not one).</returns>
    public IReadOnlyList<string> RetryWaitingNow(string? endpoint)
    {
        var names = _sinks.Select(s => s.Name).Where(n => endpoint is null || n == endpoint).ToList();
        foreach (var name in names) _retries.RetryWaitingNow(name);
        Wake();
        return names;
    }

    /// <summary>Delivers until <paramref name="cancellationToken"/> is cancelled, then returns (never throws).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var loops = _sinks.Select(sink => Task.Run(() => SinkLoopAsync(sink, cancellationToken), CancellationToken.None)).ToList();
        loops.Add(Task.Run(() => UnknownEndpointLoopAsync(cancellationToken), CancellationToken.None));
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The loops catch everything themselves; this is a last line of defence.
            _logger.LogCritical(ex, "transcript dispatcher stopped unexpectedly");
        }
        catch (Exception)
        {
            // cancelled: return quietly
        }
    }

    /// <summary>One pass over every endpoint (concurrently); returns how many deliveries succeeded.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken)
    {
        ReportUnknownEndpoints(repeatAfter: null);
        var passes = _sinks.Select(sink => Task.Run(() => PassAsync(sink, cancellationToken), cancellationToken)).ToList();
        var results = await Task.WhenAll(passes).ConfigureAwait(false);
        return results.Sum(r => r.Delivered);
    }

    private async Task SinkLoopAsync(ITranscriptSink sink, CancellationToken ct)
    {
        var signal = _wakeSignals[sink.Name];
        while (!ct.IsCancellationRequested)
        {
            var more = false;
            try
            {
                more = (await PassAsync(sink, ct).ConfigureAwait(false)).More;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "delivery pass for endpoint {Endpoint} failed: {Error}", sink.Name, ex.Message);
            }
            if (more) continue;
            if (!await WaitAsync(signal, ct).ConfigureAwait(false)) return;
        }
    }

    private async Task UnknownEndpointLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                ReportUnknownEndpoints(repeatAfter: _options.UnknownEndpointReportInterval);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "checking the spool for unknown endpoints failed: {Error}", ex.Message);
            }
            if (!await WaitAsync(null, ct).ConfigureAwait(false)) return;
        }
    }

    /// <summary>Waits for the poll interval or the signal; false when cancelled.</summary>
    private async Task<bool> WaitAsync(SemaphoreSlim? signal, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            var delay = Task.Delay(_options.PollInterval, _time, linked.Token);
            if (signal is null) await delay.ConfigureAwait(false);
            else await Task.WhenAny(delay, signal.WaitAsync(linked.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            linked.Cancel();
        }
        return !ct.IsCancellationRequested;
    }

    /// <summary>Logs an error for endpoints owed pending deliveries but not configured (they stay in the spool).</summary>
    private void ReportUnknownEndpoints(TimeSpan? repeatAfter)
    {
        var known = _sinks.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var owed = _queue.Backlog()
            .Where(b => b.Pending > 0 && !known.Contains(b.Endpoint))
            .Select(b => (b.Endpoint, Count: b.Pending));
        var now = _time.GetUtcNow();
        foreach (var (endpoint, count) in owed)
        {
            lock (_unknownGate)
            {
                if (repeatAfter is { } interval && _unknownReported.TryGetValue(endpoint, out var last) && now - last < interval) continue;
                _unknownReported[endpoint] = now;
            }
            _logger.LogError(
                "{Count} transcript(s) are owed to endpoint '{Endpoint}', which is not configured; they stay in the spool. " +
                "Configure the endpoint again, or run `imlogger spool retry` after changing where they should go.",
                count, endpoint);
        }
    }

    private readonly record struct PassResult(int Delivered, bool More);

    private async Task<PassResult> PassAsync(ITranscriptSink sink, CancellationToken ct)
    {
        var gate = _passGates[sink.Name];
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await GatedPassAsync(sink, ct).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<PassResult> GatedPassAsync(ITranscriptSink sink, CancellationToken ct)
    {
        var down = _down[sink.Name];
        var delivered = 0;
        while (true)
        {
            // After a transient failure the endpoint is probably still down, and a failing pass makes one attempt: one
            // transcript probes it. Reading a whole batch of headers for that one attempt held the spool's gate for 10-25 ms
            // every few seconds with a dead endpoint and a large backlog, and inline verdicts waited behind it
            // (docs/performance.md, "Inline p99 beside a dead endpoint's backlog, end to end").
            var probing = down.Value;
            var size = probing ? 1 : _options.BatchSize;
            // Which retries are due is decided on the monotonic clock too (RetrySchedule.cs): a stepped wall clock moves none.
            var due = _retries.Due(_queue, sink.Name, size);
            var (sent, stopped) = await DeliverAsync(sink, due, down, ct).ConfigureAwait(false);
            delivered += sent;
            if (stopped) return new PassResult(delivered, More: false);
            if (probing && !down.Value && due.Count > 0) continue; // it answered: the rest of its queue in this pass
            return new PassResult(delivered, More: due.Count >= size);
        }
    }

    /// <summary>Tries each of <paramref name="due"/> in turn; stops at the first transient failure (the endpoint is probably
    /// down: no point hammering it with the rest), and keeps <paramref name="down"/> to the last attempt's outcome.</summary>
    private async Task<(int Delivered, bool Stopped)> DeliverAsync(ITranscriptSink sink, List<TranscriptHeader> due, StrongBox<bool> down, CancellationToken ct)
    {
        var delivered = 0;
        foreach (var header in due)
        {
            ct.ThrowIfCancellationRequested();
            Transcript? transcript;
            try
            {
                transcript = _transcripts.Load(header.Id);
            }
            catch (Spool.SpoolRecordException ex)
            {
                // An unreadable record (altered, or from a newer version): never delivered as if it were the conversation, and
                // never in the way of the others. The spool quarantined the transcript (and logged it); the pass goes on.
                _logger.LogDebug("transcript {Id} skipped for {Endpoint}: {Problem}", header.Id, sink.Name, ex.Problem);
                _retries.Forget(header.Id, sink.Name);
                continue;
            }
            if (transcript is null) continue; // delivered and deleted meanwhile
            var delivery = header.Deliveries.FirstOrDefault(d => d.Endpoint == sink.Name);
            var attempts = delivery?.Attempts ?? 0;
            var progress = new ProgressRecorder(_queue, transcript.Id, sink.Name,
                new DeliveryProgress(delivery?.PartsAccepted ?? 0, delivery?.EventsAccepted ?? 0) { CopyMayExist = delivery?.CopyMayExistSinceUtc is not null });

            string receipt;
            try
            {
                receipt = await _quickRetry.ExecuteAsync(
                    static (state, token) => new ValueTask<string>(state.sink is IResumableSink resumable
                        ? resumable.DeliverAsync(state.transcript, state.progress.Current, state.progress.Accepted, token)
                        : state.sink.DeliverAsync(state.transcript, token)),
                    (sink, transcript, progress), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                var transient = RecordFailure(sink, transcript, attempts + 1, ex);
                down.Value = transient; // a permanent refusal came from an endpoint that answers
                if (transient) return (delivered, true);
                continue;
            }

            down.Value = false;
            _queue.MarkDelivered(transcript.Id, sink.Name);
            _retries.Forget(transcript.Id, sink.Name);
            ImLogger.Telemetry.DeliveryMetrics.Count(sink.Name, "delivered");
            delivered++;
            _logger.LogInformation("transcript {Id} ({Key}, {Events} events) delivered to {Endpoint}: {Receipt}",
                transcript.Id, transcript.ConversationKey, transcript.Events.Count, sink.Name, receipt);
        }
        return (delivered, false);
    }

    /// <summary>Keeps a delivery in parts' progress durable: each accepted part is in the spool before the next is sent, and
    /// a quick retry within the pass resumes from it too.</summary>
    private sealed class ProgressRecorder(IDeliveryQueue spool, string transcriptId, string endpoint, DeliveryProgress start)
    {
        public DeliveryProgress Current { get; private set; } = start;

        public void Accepted(DeliveryProgress progress)
        {
            spool.RecordPartsAccepted(transcriptId, endpoint, progress.PartsAccepted, progress.EventsAccepted);
            Current = progress;
        }
    }

    /// <summary>Records the failure; true when it was transient (the endpoint's pass should stop).</summary>
    private bool RecordFailure(ITranscriptSink sink, Transcript transcript, int attempt, Exception ex)
    {
        var transient = ex is not SinkException sinkException || sinkException.IsTransient;
        var reason = ex is SinkException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
        var maxAttempts = MaxAttemptsFor(sink.Name);
        var unknown = ex is SinkException { OutcomeUnknown: true };
        if (unknown) _queue.RecordCopyMayExist(transcript.Id, sink.Name, _time.GetUtcNow());
        // From the close, or from this start if later: the spool keeps no first-failure time, and a transcript found
        // waiting at start gets the whole horizon again rather than dying at its first failure after a long stop.
        var retryingSince = transcript.ClosedUtc > _startedUtc ? transcript.ClosedUtc : _startedUtc;
        var pastHorizon = maxAttempts is null && _time.GetUtcNow() - retryingSince >= _options.RetryHorizon;
        if (!transient || attempt >= maxAttempts || pastHorizon)
        {
            var why = !transient ? $"permanent failure: {reason}"
                : pastHorizon ? $"still failing {DurationText.Format(_options.RetryHorizon)} after the transcript closed ({attempt} attempts); last error: {reason}"
                : $"gave up after {attempt} attempts; last error: {reason}";
            _queue.RecordFailure(transcript.Id, sink.Name, why, null, dead: true);
            ImLogger.Telemetry.DeliveryMetrics.Count(sink.Name, "dead");
            _retries.Forget(transcript.Id, sink.Name);
            _logger.LogError(ex is SinkException ? null : ex,
                "transcript {Id} ({Key}) could not be delivered to {Endpoint} and is now dead ({Reason}). " +
                "It stays in the spool; run `imlogger spool retry` once fixed.",
                transcript.Id, transcript.ConversationKey, sink.Name, why);
            return transient;
        }
        var delay = RetryDelay(attempt, transcript.Id + "\n" + sink.Name);
        if (unknown && delay < _options.UnknownOutcomeRetryDelay) delay = _options.UnknownOutcomeRetryDelay;
        var next = _retries.Schedule(transcript.Id, sink.Name, delay);
        _retries.EndStartSweep(sink.Name);
        _queue.RecordFailure(transcript.Id, sink.Name, reason, next, dead: false);
        ImLogger.Telemetry.DeliveryMetrics.Count(sink.Name, "failed");
        _logger.LogWarning(ex is SinkException ? null : ex,
            "delivery of transcript {Id} ({Key}) to {Endpoint} failed (attempt {Attempt}, {Limit}): {Reason}; retrying at {Next:u}",
            transcript.Id, transcript.ConversationKey, sink.Name, attempt,
            maxAttempts is { } max ? $"of {max}" : $"retried until {retryingSince + _options.RetryHorizon:u}", reason, next);
        return true;
    }

    /// <summary>InitialRetryDelay · 2^(attempt-1), plus up to 20 % jitter, capped at MaxRetryDelay. Never less than InitialRetryDelay.</summary>
    internal TimeSpan RetryDelay(int attempt, string delivery = "")
    {
        // Capped exponential backoff. The jitter (up to +20%, never past the cap) is fixed per delivery rather than drawn
        // anew each time, so one delivery's delays never shrink while deliveries of a backlog still spread out.
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var baseTicks = Math.Min(_options.InitialRetryDelay.Ticks * Math.Pow(2, exponent), _options.MaxRetryDelay.Ticks);
        var jitter = StableFraction(delivery);
        var withJitter = baseTicks * (1 + 0.2 * jitter);
        return TimeSpan.FromTicks((long)Math.Min(withJitter, _options.MaxRetryDelay.Ticks));
    }

    /// <summary>A fraction in [0, 1) that is the same for the same text in every process (FNV-1a; string hashes are
    /// randomised per process, and a restart must not shorten a delivery's delay either).</summary>
    private static double StableFraction(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return hash / (uint.MaxValue + 1.0);
    }
}

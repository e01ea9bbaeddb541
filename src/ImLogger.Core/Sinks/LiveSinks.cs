using ImLogger.Config;
using ImLogger.Conversations;

namespace ImLogger.Sinks;

/// <summary>
/// An endpoint as the dispatcher sees it: its name stays, the sink behind it is replaced when a reload changes the
/// endpoint's settings. A delivery under way finishes with the sink it started with; the next one uses the new sink.
/// </summary>
public sealed class LiveSink : IResumableSink
{
    private ITranscriptSink _current;

    internal LiveSink(ITranscriptSink first) => _current = first;

    /// <inheritdoc />
    public string Name => Current.Name;

    /// <summary>The sink that the next delivery uses.</summary>
    public ITranscriptSink Current => Volatile.Read(ref _current);

    internal void Replace(ITranscriptSink next) => Volatile.Write(ref _current, next);

    /// <inheritdoc />
    public Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken) => Current.DeliverAsync(transcript, cancellationToken);

    /// <inheritdoc />
    public Task<string> DeliverAsync(Transcript transcript, DeliveryProgress resume, Action<DeliveryProgress> accepted, CancellationToken cancellationToken)
    {
        var sink = Current; // read once: a swap in between must not split one delivery across two sinks
        return sink is IResumableSink resumable
            ? resumable.DeliverAsync(transcript, resume, accepted, cancellationToken)
            : sink.DeliverAsync(transcript, cancellationToken);
    }
}

/// <summary>
/// The endpoints' sinks for the dispatcher (<see cref="Sinks"/>, one <see cref="LiveSink"/> per endpoint, fixed at start),
/// rebuilt per endpoint when a reload changes its settings (<see cref="Apply"/>).
/// </summary>
public sealed class LiveSinks
{
    private readonly IReadOnlyList<string> _order;
    private readonly Func<EndpointConfig, ITranscriptSink> _create;
    private readonly Dictionary<string, (EndpointConfig Config, LiveSink Sink)> _endpoints;
    private readonly object _gate = new();

    /// <summary>Builds every endpoint's sink.</summary>
    /// <param name="endpoints">The endpoints at start.</param>
    /// <param name="create">Builds an endpoint's sink (the host's: <see cref="EndpointSinks.Create"/> with its decorations).</param>
    public LiveSinks(IReadOnlyList<EndpointConfig> endpoints, Func<EndpointConfig, ITranscriptSink> create)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(create);
        _create = create;
        _order = endpoints.Select(e => e.Name).ToList();
        _endpoints = endpoints.ToDictionary(e => e.Name, e => (e, new LiveSink(create(e))), StringComparer.Ordinal);
        Sinks = _order.Select(n => _endpoints[n].Sink).ToList();
    }

    /// <summary>The sinks to give the dispatcher, in config order.</summary>
    public IReadOnlyList<LiveSink> Sinks { get; }

    /// <summary>The settings each endpoint's sink was last built from.</summary>
    public EndpointConfig ConfigOf(string name)
    {
        lock (_gate) return _endpoints[name].Config;
    }

    /// <summary>
    /// Rebuilds the sink of every endpoint whose settings differ from <paramref name="next"/>'s (compared by value) and
    /// returns the changes applied. All or nothing: every new sink is built before any replaces its predecessor.
    /// </summary>
    /// <exception cref="InvalidOperationException">A change needs a restart (<see cref="EndpointChanges"/>); nothing changed.</exception>
    /// <exception cref="ArgumentException">A new sink cannot be built from its settings; nothing changed.</exception>
    public IReadOnlyList<EndpointChange> Apply(IReadOnlyList<EndpointConfig> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_gate)
        {
            var changes = EndpointChanges.Between(_order.Select(n => _endpoints[n].Config).ToList(), next);
            if (changes.FirstOrDefault(c => c.Restart is not null) is { } refused)
                throw new InvalidOperationException($"{refused} needs a restart: {refused.Restart}");
            var built = changes.Select(c => next.Single(e => e.Name == c.Name)).Select(e => (Config: e, Sink: _create(e))).ToList();
            foreach (var (config, sink) in built)
            {
                var entry = _endpoints[config.Name];
                entry.Sink.Replace(sink);
                _endpoints[config.Name] = (config, entry.Sink);
            }
            return changes;
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ImLogger.Telemetry;
using Prometheus;

namespace ImLogger.Host;

/// <summary>
/// Feeds ImLogger's <see cref="ImLoggerMetrics.Meter"/> into a prometheus-net registry with Prometheus' own types: a
/// .NET counter becomes a Prometheus counter named <c>imlogger_stanzas_total</c>, an observable gauge a gauge.
/// </summary>
/// <remarks>prometheus-net's own MeterAdapter exports every .NET counter as a gauge (it cannot know that a counter is
/// never re-created) under the meter's name twice (<c>imlogger_imlogger_stanzas</c>); Prometheus' rate() and the alert
/// rules want counters with the <c>_total</c> suffix, and ImLogger's counters live as long as the process.</remarks>
internal sealed class MeterExport : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly MetricFactory _factory;
    private readonly ConcurrentDictionary<Instrument, Collector> _collectors = new();

    public MeterExport(CollectorRegistry registry)
    {
        _factory = Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ImLoggerMetrics.MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(() => _listener.RecordObservableInstruments());
    }

    /// <summary>The Prometheus name of an instrument: dots to underscores, counters with <c>_total</c>.</summary>
    internal static string NameOf(Instrument instrument) =>
        instrument.Name.Replace('.', '_') + (instrument is Counter<long> ? "_total" : "");

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // This runs inside the instrument's Add, on the ingest and delivery paths: a figure that cannot be exported
        // (say, a call site passing other labels than the first one did) costs the figure, never the stanza.
        try { Export(instrument, value, tags); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
    }

    private void Export(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Label order must be stable for prometheus-net; ImLogger's call sites pass the same keys every time.
        var names = new string[tags.Length];
        var values = new string[tags.Length];
        for (var i = 0; i < tags.Length; i++) (names[i], values[i]) = (tags[i].Key, tags[i].Value?.ToString() ?? "");
        var collector = _collectors.GetOrAdd(instrument, i => i is Counter<long>
            ? _factory.CreateCounter(NameOf(i), i.Description ?? i.Name, names)
            : _factory.CreateGauge(NameOf(i), i.Description ?? i.Name, names));
        switch (collector)
        {
            case Counter counter when values.Length == 0: counter.Inc(value); break;
            case Counter counter: counter.WithLabels(values).Inc(value); break;
            case Gauge gauge when values.Length == 0: gauge.Set(value); break;
            case Gauge gauge: gauge.WithLabels(values).Set(value); break;
        }
    }

    public void Dispose() => _listener.Dispose();
}

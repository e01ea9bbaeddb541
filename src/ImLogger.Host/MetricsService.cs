using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using ImLogger.Config;
using ImLogger.Liveness;
using ImLogger.Spool;
using ImLogger.Telemetry;
using ImLogger.Xmpp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ImLogger.Host;

/// <summary>
/// <c>&lt;metrics listen="127.0.0.1:9464"/&gt;</c>: serves <c>/metrics</c> (Prometheus text format: ImLogger's meter
/// through prometheus-net's adapter, with the process's own figures) and <c>/health</c> (200 when ImLogger is connected,
/// the server side is current on every domain and no transcript is a dead letter; 503 with one line per problem).
/// </summary>
/// <remarks>
/// prometheus-net rather than OpenTelemetry's Prometheus exporter: the exporter's packages are still prereleases
/// (1.20.1-beta.1), and its HttpListener host serves the metrics path only, so /health would need a second port.
/// prometheus-net is stable and renders into the response of a listener that also answers /health; <see cref="MeterExport"/>
/// feeds it the System.Diagnostics.Metrics instruments with Prometheus' types.
/// </remarks>
internal sealed class MetricsService : BackgroundService
{
    private readonly ConfigHolder _config;
    private readonly ComponentConnection _connection;
    private readonly IDeliveryQueue _spool;
    private readonly AdapterWatch _watch;
    private readonly ILogger<MetricsService> _log;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly MeterExport? _export;

    public MetricsService(ConfigHolder config, ComponentConnection connection, IDeliveryQueue spool, AdapterWatch watch, ILogger<MetricsService> log)
    {
        (_config, _connection, _spool, _watch, _log) = (config, connection, spool, watch, log);
        // <metrics> is read at start only: without it nothing listens to the meter, so its instruments stay disabled
        // and their Add on the ingest and delivery paths costs nothing.
        if (config.Current.Metrics is null) return;
        DotNetStats.Register(_registry);
        _export = new MeterExport(_registry);
        RegisterGauges();
    }

    private void RegisterGauges()
    {
        var meter = ImLoggerMetrics.Meter;
        meter.CreateObservableGauge("imlogger.component.connected", () => _connection.IsConnected ? 1 : 0, null,
            "1 while ImLogger's component connection to the XMPP server is up");
        meter.CreateObservableGauge("imlogger.server_side.current", () =>
                _watch.Check().Where(s => s.Domain.Length > 0).Select(s => new Measurement<int>(s.Healthy ? 1 : 0, new KeyValuePair<string, object?>("domain", s.Domain))),
            null, "1 while the server side (module or tap rules) answers current on the domain");
        meter.CreateObservableGauge("imlogger.transcripts.pending", () => Backlog(b => b.Pending), "{transcript}",
            "Transcripts waiting for delivery, by endpoint");
        meter.CreateObservableGauge("imlogger.transcripts.dead", () => Backlog(b => b.Dead), "{transcript}",
            "Transcripts that exhausted their delivery attempts (dead letters), by endpoint");
    }

    private IEnumerable<Measurement<int>> Backlog(Func<EndpointBacklog, int> figure)
    {
        IReadOnlyList<EndpointBacklog> backlog;
        try { backlog = _spool.Backlog(); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogWarning("metrics: the spool could not be read for the backlog ({Error})", e.Message);
            yield break;
        }
        // Every configured endpoint, 0 when nothing waits (the spool lists only endpoints with records), and any endpoint
        // the spool still holds transcripts for after it left the config.
        var byName = backlog.ToDictionary(b => b.Endpoint, StringComparer.Ordinal);
        foreach (var name in _config.Current.Endpoints.Select(e => e.Name).Union(byName.Keys, StringComparer.Ordinal))
            yield return new Measurement<int>(byName.TryGetValue(name, out var b) ? figure(b) : 0, new KeyValuePair<string, object?>("endpoint", name));
    }

    public override void Dispose()
    {
        _export?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (_config.Current.Metrics is not { } settings) return;
        using var listener = new HttpListener();
        listener.Prefixes.Add(settings.Prefix);
        try { listener.Start(); }
        catch (HttpListenerException e)
        {
            // Not fatal: logging goes on without metrics; the operator fixes the port and restarts.
            _log.LogError("metrics: cannot listen on {Listen} ({Error}); /metrics and /health are not served. Choose a free port in <metrics listen> and restart",
                settings.Listen, e.Message);
            return;
        }
        _log.LogInformation("metrics: serving {Prefix}metrics and {Prefix}health", settings.Prefix, settings.Prefix);
        await using var registration = stop.Register(listener.Stop);
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception) when (stop.IsCancellationRequested) { break; }
            catch (HttpListenerException e)
            {
                _log.LogWarning("metrics: {Error}", e.Message);
                continue;
            }
            _ = Task.Run(() => AnswerAsync(context, stop), stop);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context, CancellationToken stop)
    {
        var response = context.Response;
        try
        {
            switch (context.Request.Url?.AbsolutePath)
            {
                case "/metrics":
                    response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await _registry.CollectAndExportAsTextAsync(response.OutputStream, stop);
                    break;
                case "/health":
                    var problems = Health();
                    response.StatusCode = problems.Count == 0 ? 200 : 503;
                    response.ContentType = "text/plain; charset=utf-8";
                    var body = problems.Count == 0 ? "ok\n" : string.Concat(problems.Select(p => p + "\n"));
                    await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(body), stop);
                    break;
                default:
                    response.StatusCode = 404;
                    await response.OutputStream.WriteAsync("/metrics or /health\n"u8.ToArray(), stop);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogDebug("metrics: answering {Path} failed ({Error})", context.Request.Url?.AbsolutePath, e.Message);
        }
        finally
        {
            try { response.Close(); } catch (Exception) { /* the scraper went away */ }
        }
    }

    /// <summary>What makes /health red, one line each: not connected, a stale or silent server side, dead letters.</summary>
    internal List<string> Health()
    {
        var problems = new List<string>();
        if (!_connection.IsConnected) problems.Add("disconnected: ImLogger is not connected to the XMPP server (its log says why)");
        problems.AddRange(_watch.Check().Where(s => !s.Healthy && s.Domain.Length > 0).Select(s => "server side: " + s.Text));
        try
        {
            foreach (var b in _spool.Backlog().Where(b => b.Dead > 0))
                problems.Add($"dead letters: {b.Dead} transcript(s) for endpoint {b.Endpoint} (fix the endpoint, then `imlogger spool retry {b.Endpoint}`)");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add($"spool: cannot be read ({e.Message})");
        }
        return problems;
    }
}

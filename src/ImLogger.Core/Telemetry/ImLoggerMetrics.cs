using System.Diagnostics.Metrics;

namespace ImLogger.Telemetry;

/// <summary>
/// ImLogger's instruments (System.Diagnostics.Metrics, the OpenTelemetry API of .NET), on one meter named
/// <see cref="MeterName"/>. <c>imlogger run</c> exports them in Prometheus text format at <c>/metrics</c>
/// (docs/admin-guide.md, "Metrics and health", lists the exported names); any OpenTelemetry SDK can listen too.
/// </summary>
/// <remarks>Counters are static so that each stage adds to them where the event happens, without a dependency on
/// the host; gauges that read state (connection, backlog) are registered by the host, which owns that state.</remarks>
public static class ImLoggerMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "ImLogger";

    /// <summary>The meter every ImLogger instrument belongs to.</summary>
    public static readonly Meter Meter = new(MeterName, typeof(ImLoggerMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>Stanzas of logged users received from the server (held requests in inline mode, copies in tap mode).</summary>
    public static readonly Counter<long> Stanzas = Meter.CreateCounter<long>("imlogger.stanzas", "{stanza}",
        "Stanzas of logged users received from the XMPP server");

    /// <summary>Verdicts sent to the server in inline mode, by <c>verdict</c> (accepted, refused).</summary>
    public static readonly Counter<long> Verdicts = Meter.CreateCounter<long>("imlogger.verdicts", "{verdict}",
        "Inline verdicts sent to the XMPP server, by verdict (accepted, refused)");

    /// <summary>Refused stanzas by <c>rule</c> (the policy rule that refused them).</summary>
    public static readonly Counter<long> Refusals = Meter.CreateCounter<long>("imlogger.refusals", "{stanza}",
        "Stanzas refused, by the rule that refused them");

    /// <summary>Delivery attempts by <c>endpoint</c> and <c>outcome</c> (delivered, failed, dead).</summary>
    public static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("imlogger.deliveries", "{attempt}",
        "Transcript delivery attempts, by endpoint and outcome (delivered, failed, dead)");
}

using System.Net;

namespace ImLogger.Config;

/// <summary>
/// <c>&lt;metrics listen="127.0.0.1:9464"/&gt;</c>: where <c>imlogger run</c> serves <c>/metrics</c> (Prometheus text format)
/// and <c>/health</c> (docs/admin-guide.md, "Metrics and health"). Absent: neither is served.
/// </summary>
/// <remarks>Loopback only: the figures name users' organizations and endpoints and nothing authenticates a scrape; a
/// Prometheus on another host scrapes through a reverse proxy or an SSH tunnel that the operator secures.</remarks>
public sealed record MetricsSettings(IPEndPoint Listen)
{
    /// <summary>The URL prefix HttpListener binds ("http://127.0.0.1:9464/").</summary>
    public string Prefix => Listen.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"http://[{Listen.Address}]:{Listen.Port}/"
        : $"http://{Listen.Address}:{Listen.Port}/";
}

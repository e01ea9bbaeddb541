using ImLogger.Config;
using Microsoft.Extensions.Logging;

namespace ImLogger.Sinks;

/// <summary>Turns configured endpoints into sinks (the one place that maps a config type to its sink).</summary>
public static class EndpointSinks
{
    /// <summary>Creates the sink of one endpoint.</summary>
    /// <param name="endpoint">The endpoint's settings.</param>
    /// <param name="loggers">Creates the sink's logger.</param>
    /// <param name="archiveAddress">From address of directory endpoint messages (imlogger@component-domain).</param>
    /// <exception cref="NotSupportedException">An endpoint type without a sink.</exception>
    public static ITranscriptSink Create(EndpointConfig endpoint, ILoggerFactory loggers, string archiveAddress)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(loggers);
        return endpoint switch
        {
            DirectoryEndpointConfig d => new DirectorySink(d.Name, d.Path, new TranscriptMessageBuilder(archiveAddress), loggers.CreateLogger<DirectorySink>()),
            SecureSmtpEndpointConfig s => new SecureSmtpSink(s, loggers.CreateLogger<SecureSmtpSink>()),
            GlobalRelayEndpointConfig g => new GlobalRelaySink(g, loggers.CreateLogger<GlobalRelaySink>()),
            DrcCmEndpointConfig c => new DrcCmSink(c, loggers.CreateLogger<DrcCmSink>()),
            _ => throw new NotSupportedException($"endpoint '{endpoint.Name}' has a type ({endpoint.GetType().Name}) without a sink"),
        };
    }

    /// <summary>Dispatcher max attempts per endpoint, from each endpoint's <c>max-attempts</c>.</summary>
    public static IReadOnlyDictionary<string, int> MaxAttempts(IEnumerable<EndpointConfig> endpoints) =>
        endpoints.Where(e => e.MaxAttempts is not null).ToDictionary(e => e.Name, e => e.MaxAttempts!.Value, StringComparer.Ordinal);

    /// <summary>One line describing an endpoint for summaries (never a secret).</summary>
    public static string Describe(EndpointConfig endpoint) => endpoint switch
    {
        DirectoryEndpointConfig d => $"directory {d.Path}",
        SmtpEndpointConfig s => $"{TypeName(s)} {s.Host}:{s.Port} ({Tls(s.Tls)}{(s.CaFile is null ? "" : ", CA " + s.CaFile)}), " +
                                $"{(s.Username is null ? "no login" : $"login '{s.Username}' with password from {s.Password?.Source}")}, " +
                                $"from {s.From} to {string.Join(", ", s.To)}",
        _ => endpoint.GetType().Name,
    };

    /// <summary>The config element name of an endpoint's type.</summary>
    public static string TypeName(EndpointConfig endpoint) => endpoint.TypeName;

    private static string Tls(SmtpTlsMode mode) => mode switch
    {
        SmtpTlsMode.StartTls => "STARTTLS required",
        SmtpTlsMode.Implicit => "implicit TLS",
        _ => "NO TLS: insecure-plaintext-for-lab-only",
    };
}

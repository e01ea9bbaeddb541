using ImLogger.Config;
using ImLogger.Endpoints;
using Microsoft.Extensions.Logging;

namespace ImLogger.Sinks;

/// <summary>Turns configured endpoints into sinks and descriptions, through each endpoint's type (<see cref="EndpointCatalog"/>).</summary>
public static class EndpointSinks
{
    /// <summary>Creates the sink of one endpoint.</summary>
    /// <param name="endpoint">The endpoint's settings.</param>
    /// <param name="loggers">Creates the sink's logger.</param>
    /// <param name="archiveAddress">From address of messages ImLogger writes itself (imlogger@component-domain).</param>
    /// <exception cref="InvalidOperationException">Settings no loaded endpoint type reads, or a sink that cannot be built
    /// (a plug-in's factory threw): the message names the endpoint.</exception>
    public static ITranscriptSink Create(EndpointConfig endpoint, ILoggerFactory loggers, string archiveAddress)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(loggers);
        var type = EndpointCatalog.Of(endpoint);
        ITranscriptSink? sink;
        try
        {
            sink = type.CreateSink(endpoint, new SinkContext(loggers, archiveAddress));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"endpoint '{endpoint.Name}' (type {type.TypeName}): its sink cannot be built: {e.GetType().Name}: {e.Message}", e);
        }
        if (sink is null || sink.Name != endpoint.Name)
            throw new InvalidOperationException($"endpoint '{endpoint.Name}' (type {type.TypeName}): its type built {(sink is null ? "no sink" : $"a sink named '{sink.Name}'")}; a sink must carry its endpoint's name");
        return sink;
    }

    /// <summary>Dispatcher max attempts per endpoint, from each endpoint's <c>max-attempts</c>.</summary>
    public static IReadOnlyDictionary<string, int> MaxAttempts(IEnumerable<EndpointConfig> endpoints) =>
        endpoints.Where(e => e.MaxAttempts is not null).ToDictionary(e => e.Name, e => e.MaxAttempts!.Value, StringComparer.Ordinal);

    /// <summary>One line describing an endpoint for summaries (never a secret).</summary>
    public static string Describe(EndpointConfig endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var type = EndpointCatalog.Of(endpoint);
        var origin = type.GetType().Assembly == typeof(EndpointSinks).Assembly ? "" : $" [plug-in {type.GetType().Assembly.GetName().Name}]";
        try
        {
            return type.Describe(endpoint) + origin;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"{type.TypeName}{origin} (its description failed: {e.GetType().Name})";
        }
    }

    /// <summary>The config element name of an endpoint's type.</summary>
    public static string TypeName(EndpointConfig endpoint) => endpoint.TypeName;
}

using ImLogger.Endpoints;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging;

namespace ImLogger.SamplePlugin;

/// <summary>The settings of a <c>json-lines</c> endpoint: the folder its files go to.</summary>
public sealed record JsonLinesEndpointConfig : EndpointConfig
{
    /// <inheritdoc />
    public override string TypeName => "json-lines";

    /// <summary>Absolute path of the folder that receives one <c>TRANSCRIPT-ID.jsonl</c> file per transcript.</summary>
    public required string Folder { get; init; }
}

/// <summary>
/// The registration: <c>&lt;endpoint name="jsonl" plugin="ImLogger.SamplePlugin" type="json-lines" folder="PATH"/&gt;</c>.
/// ImLogger finds it because it is a public class deriving from <see cref="EndpointType{TConfig}"/>.
/// </summary>
public sealed class JsonLinesEndpointType : EndpointType<JsonLinesEndpointConfig>
{
    /// <inheritdoc />
    public override string TypeName => "json-lines";

    /// <inheritdoc />
    protected override JsonLinesEndpointConfig ReadSettings(EndpointElement element)
    {
        element.Only("folder");
        return new JsonLinesEndpointConfig { Name = element.Name, Folder = element.ResolvePath(element.Required("folder")) };
    }

    /// <inheritdoc />
    protected override ITranscriptSink CreateSink(JsonLinesEndpointConfig config, SinkContext context) =>
        new JsonLinesSink(config, context.Loggers.CreateLogger<JsonLinesSink>());

    /// <inheritdoc />
    protected override string Describe(JsonLinesEndpointConfig config) => $"json-lines files in {config.Folder}";

    /// <inheritdoc />
    protected override Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(JsonLinesEndpointConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken)
    {
        var probe = Path.Combine(config.Folder, $".probe-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(config.Folder);
            File.WriteAllText(probe, "{}\n");
            File.Delete(probe);
            return Task.FromResult<IReadOnlyList<EndpointCheckStep>>([new EndpointCheckStep($"write to {config.Folder}", true, "a file was written and removed")]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult<IReadOnlyList<EndpointCheckStep>>([new EndpointCheckStep($"write to {config.Folder}", false, $"{e.Message} (give the imlogger user write permission there)")]);
        }
    }
}

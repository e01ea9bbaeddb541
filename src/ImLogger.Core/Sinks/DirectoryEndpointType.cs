using ImLogger.Config;
using ImLogger.Endpoints;
using Microsoft.Extensions.Logging;

namespace ImLogger.Sinks;

/// <summary><c>&lt;directory name="..." path="..."/&gt;</c>: transcripts as .eml files in a local folder.</summary>
public sealed class DirectoryEndpointType : EndpointType<DirectoryEndpointConfig>
{
    /// <inheritdoc />
    public override string TypeName => "directory";

    /// <inheritdoc />
    protected override DirectoryEndpointConfig ReadSettings(EndpointElement element)
    {
        element.Only("path");
        return new DirectoryEndpointConfig { Name = element.Name, Path = element.ResolvePath(element.Required("path")) };
    }

    /// <inheritdoc />
    protected override ITranscriptSink CreateSink(DirectoryEndpointConfig config, SinkContext context) =>
        new DirectorySink(config.Name, config.Path, new TranscriptMessageBuilder(context.ArchiveAddress), context.Loggers.CreateLogger<DirectorySink>());

    /// <inheritdoc />
    protected override string Describe(DirectoryEndpointConfig config) => $"directory {config.Path}";

    /// <summary>Creates the directory if needed and writes, syncs and removes a probe file in it (what a delivery needs).</summary>
    protected override Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(DirectoryEndpointConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken)
    {
        var probe = Path.Combine(config.Path, $".imlogger-probe-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(config.Path);
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: true);
            }
            File.Delete(probe);
            var free = new DriveInfo(config.Path).AvailableFreeSpace;
            return Task.FromResult<IReadOnlyList<EndpointCheckStep>>(
                [new EndpointCheckStep($"write to {config.Path}", true, $"a file was written, synced and removed; {free / (1024 * 1024)} MiB free")]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult<IReadOnlyList<EndpointCheckStep>>(
                [new EndpointCheckStep($"write to {config.Path}", false, $"{e.Message} (give the imlogger user write permission there)")]);
        }
    }
}

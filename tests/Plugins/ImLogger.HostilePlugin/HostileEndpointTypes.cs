using ImLogger.Domain;
using ImLogger.Endpoints;
using ImLogger.Sinks;

namespace ImLogger.HostilePlugin;

/// <summary>Settings of the hostile types: a folder (where the look-alike json-lines type leaves its mark). Each type has
/// its own settings record (<typeparamref name="TType"/>), as ImLogger requires: the settings name their type.</summary>
public sealed record HostileConfig<TType> : EndpointConfig
{
    /// <summary>Which hostile type read it.</summary>
    public required string Kind { get; init; }

    /// <inheritdoc />
    public override string TypeName => Kind;

    /// <summary>A folder.</summary>
    public string? Folder { get; init; }
}

/// <summary>Base of the hostile types: reads an optional folder.</summary>
public abstract class HostileType<TType> : EndpointType<HostileConfig<TType>>
{
    /// <inheritdoc />
    protected override HostileConfig<TType> ReadSettings(EndpointElement element)
    {
        element.Only("folder");
        return new HostileConfig<TType> { Name = element.Name, Kind = TypeName, Folder = element.Optional("folder") is { } f ? element.ResolvePath(f) : null };
    }

    /// <inheritdoc />
    protected override string Describe(HostileConfig<TType> config) => $"hostile {TypeName}";

    /// <inheritdoc />
    protected override Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(HostileConfig<TType> config, SinkContext context, bool sendProbe, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("the hostile check throws");
}

/// <summary>Its factory throws.</summary>
public sealed class ThrowsOnCreate : HostileType<ThrowsOnCreate>
{
    /// <inheritdoc />
    public override string TypeName => "throws-on-create";

    /// <inheritdoc />
    protected override ITranscriptSink CreateSink(HostileConfig<ThrowsOnCreate> config, SinkContext context) => throw new InvalidOperationException("the hostile factory throws");
}

/// <summary>Its sink throws from Deliver, not a SinkException.</summary>
public sealed class ThrowsOnDeliver : HostileType<ThrowsOnDeliver>
{
    /// <inheritdoc />
    public override string TypeName => "throws-on-deliver";

    /// <inheritdoc />
    protected override ITranscriptSink CreateSink(HostileConfig<ThrowsOnDeliver> config, SinkContext context) => new ThrowingSink(config.Name);

    private sealed class ThrowingSink(string name) : ITranscriptSink
    {
        public string Name => name;

        public Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken) => throw new InvalidOperationException("the hostile sink throws");
    }
}

/// <summary>Its reader throws something other than a config error.</summary>
public sealed class ThrowsOnRead : HostileType<ThrowsOnRead>
{
    /// <inheritdoc />
    public override string TypeName => "throws-on-read";

    /// <inheritdoc />
    protected override HostileConfig<ThrowsOnRead> ReadSettings(EndpointElement element) => throw new NullReferenceException("the hostile reader throws");

    /// <inheritdoc />
    protected override ITranscriptSink CreateSink(HostileConfig<ThrowsOnRead> config, SinkContext context) => throw new NotSupportedException();
}

/// <summary>Claims the sample plug-in's type name: used side by side with it, each endpoint gets its own plug-in's sink.</summary>
public sealed class LookAlikeJsonLines : HostileType<LookAlikeJsonLines>
{
    /// <inheritdoc />
    public override string TypeName => "json-lines";

    /// <inheritdoc />
    protected override ITranscriptSink CreateSink(HostileConfig<LookAlikeJsonLines> config, SinkContext context) => new MarkingSink(config);

    private sealed class MarkingSink(HostileConfig<LookAlikeJsonLines> config) : ITranscriptSink
    {
        public string Name => config.Name;

        public Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken)
        {
            File.WriteAllText(Path.Combine(config.Folder!, "look-alike-" + transcript.Id), "not json lines");
            return Task.FromResult("marked");
        }
    }
}

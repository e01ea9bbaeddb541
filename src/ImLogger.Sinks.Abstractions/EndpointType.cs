using ImLogger.Sinks;
using Microsoft.Extensions.Logging;

namespace ImLogger.Endpoints;

/// <summary>
/// One endpoint type, whole: how its settings are read from the config, how its sink is built, how it is described
/// (check-config, test-endpoint, the log) and how it checks itself (<c>imlogger test-endpoint</c>). Change detection
/// is the settings' value equality (<see cref="EndpointConfig"/>).
/// </summary>
/// <remarks>
/// <para>Derive from <see cref="EndpointType{TConfig}"/> rather than from this class. A registration is a public
/// non-abstract class with a public parameterless constructor: ImLogger finds its own in its assembly and a plug-in's
/// in the plug-in's assembly (docs/endpoints.md, "Writing an endpoint plug-in"). It holds no state: one instance
/// serves every endpoint of its type, from several threads.</para>
/// </remarks>
public abstract class EndpointType
{
    /// <summary>The type's name: the config element of a built-in type (<c>secure-smtp</c>), the <c>type</c> attribute
    /// of a plug-in's <c>&lt;endpoint&gt;</c>. Lower case letters, digits and '-'.</summary>
    public abstract string TypeName { get; }

    /// <summary>The settings record this type reads and builds sinks from.</summary>
    public abstract Type ConfigType { get; }

    /// <summary>Reads and checks the settings from the endpoint's config element.</summary>
    /// <param name="element">The element, with helpers that report errors at their file and line.</param>
    /// <returns>The settings, <see cref="EndpointConfig.Name"/> set to <see cref="EndpointElement.Name"/>.</returns>
    /// <exception cref="Exception">From <see cref="EndpointElement.Error"/>: a setting is wrong (the config is refused).</exception>
    public abstract EndpointConfig Read(EndpointElement element);

    /// <summary>Builds the sink of one endpoint. Called at start and when a reload changes the endpoint's settings.</summary>
    /// <exception cref="ArgumentException">The settings cannot make a sink.</exception>
    public abstract ITranscriptSink CreateSink(EndpointConfig config, SinkContext context);

    /// <summary>One line describing the endpoint for summaries and the log: where transcripts go and how. Never a secret.</summary>
    public abstract string Describe(EndpointConfig config);

    /// <summary>Checks, step by step, that the endpoint can take transcripts (<c>imlogger test-endpoint</c>); each failed
    /// step says what is wrong and what to do.</summary>
    /// <param name="config">The endpoint's settings.</param>
    /// <param name="context">As for <see cref="CreateSink"/>.</param>
    /// <param name="sendProbe">Also deliver a probe that the endpoint keeps (a test message), when the type can.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    public abstract Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(EndpointConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken);
}

/// <summary>An endpoint type whose settings are <typeparamref name="TConfig"/>: override the typed members.</summary>
/// <typeparam name="TConfig">The settings record (sealed, compared by value).</typeparam>
public abstract class EndpointType<TConfig> : EndpointType where TConfig : EndpointConfig
{
    /// <inheritdoc />
    public sealed override Type ConfigType => typeof(TConfig);

    /// <inheritdoc />
    public sealed override EndpointConfig Read(EndpointElement element) => ReadSettings(element);

    /// <inheritdoc />
    public sealed override ITranscriptSink CreateSink(EndpointConfig config, SinkContext context) => CreateSink(Typed(config), context);

    /// <inheritdoc />
    public sealed override string Describe(EndpointConfig config) => Describe(Typed(config));

    /// <inheritdoc />
    public sealed override Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(EndpointConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken) =>
        CheckAsync(Typed(config), context, sendProbe, cancellationToken);

    /// <summary>See <see cref="EndpointType.Read"/>.</summary>
    protected abstract TConfig ReadSettings(EndpointElement element);

    /// <summary>See <see cref="EndpointType.CreateSink(EndpointConfig, SinkContext)"/>.</summary>
    protected abstract ITranscriptSink CreateSink(TConfig config, SinkContext context);

    /// <summary>See <see cref="EndpointType.Describe(EndpointConfig)"/>.</summary>
    protected abstract string Describe(TConfig config);

    /// <summary>See <see cref="EndpointType.CheckAsync(EndpointConfig, SinkContext, bool, CancellationToken)"/>.</summary>
    protected abstract Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(TConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken);

    private TConfig Typed(EndpointConfig config) => config as TConfig ?? throw new ArgumentException(
        $"endpoint '{config?.Name}' has settings of type {config?.GetType().Name}, not the {typeof(TConfig).Name} of endpoint type {TypeName}", nameof(config));
}

/// <summary>What a sink is given besides its settings.</summary>
/// <param name="Loggers">Creates the sink's logger (Microsoft.Extensions.Logging; never log a secret or transcript text).</param>
/// <param name="ArchiveAddress">ImLogger's own address (imlogger@component-domain), the sender of messages it writes itself.</param>
public sealed record SinkContext(ILoggerFactory Loggers, string ArchiveAddress);

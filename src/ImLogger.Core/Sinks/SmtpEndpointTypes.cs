using ImLogger.Config;
using ImLogger.Endpoints;
using Microsoft.Extensions.Logging;

namespace ImLogger.Sinks;

/// <summary>What the SMTP endpoint types share: the description and the step-by-step check (<see cref="SmtpSink.CheckAsync"/>).</summary>
/// <typeparam name="TConfig">The type's settings.</typeparam>
public abstract class SmtpEndpointType<TConfig> : EndpointType<TConfig> where TConfig : SmtpEndpointConfig
{
    /// <summary>Builds the type's sink.</summary>
    protected abstract SmtpSink CreateSmtpSink(TConfig config, SinkContext context);

    /// <inheritdoc />
    protected sealed override ITranscriptSink CreateSink(TConfig config, SinkContext context) => CreateSmtpSink(config, context);

    /// <inheritdoc />
    protected sealed override string Describe(TConfig config) =>
        $"{config.TypeName} {config.Host}:{config.Port} ({Tls(config.Tls)}{(config.CaFile is null ? "" : ", CA " + config.CaFile)}), " +
        $"{(config.Username is null ? "no login" : $"login '{config.Username}' with password from {config.Password?.Source}")}, " +
        $"from {config.From} to {string.Join(", ", config.To)}";

    /// <inheritdoc />
    protected sealed override Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(TConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken) =>
        CreateSmtpSink(config, context).CheckAsync(sendProbe, cancellationToken);

    private static string Tls(SmtpTlsMode mode) => mode switch
    {
        SmtpTlsMode.StartTls => "STARTTLS required",
        SmtpTlsMode.Implicit => "implicit TLS",
        SmtpTlsMode.InsecurePlaintext => "NO TLS: insecure-plaintext-for-lab-only",
    };
}

/// <summary><c>&lt;secure-smtp&gt;</c>: transcripts as e-mail into the organization's own mail archive.</summary>
public sealed class SecureSmtpEndpointType : SmtpEndpointType<SecureSmtpEndpointConfig>
{
    /// <inheritdoc />
    public override string TypeName => "secure-smtp";

    /// <inheritdoc />
    protected override SecureSmtpEndpointConfig ReadSettings(EndpointElement element) =>
        SmtpEndpointReader.Read(element, ["subject"], new SecureSmtpEndpointConfig
        {
            Name = element.Name, Host = "", Port = 0, Tls = SmtpTlsMode.StartTls, From = "", To = [],
            SubjectTemplate = SmtpEndpointReader.SubjectTemplate(element),
        });

    /// <inheritdoc />
    protected override SmtpSink CreateSmtpSink(SecureSmtpEndpointConfig config, SinkContext context) =>
        new SecureSmtpSink(config, context.Loggers.CreateLogger<SecureSmtpSink>());
}

/// <summary><c>&lt;global-relay&gt;</c>: Global Relay Message Archiver over SMTP/TLS.</summary>
public sealed class GlobalRelayEndpointType : SmtpEndpointType<GlobalRelayEndpointConfig>
{
    /// <inheritdoc />
    public override string TypeName => "global-relay";

    /// <inheritdoc />
    protected override GlobalRelayEndpointConfig ReadSettings(EndpointElement element) =>
        SmtpEndpointReader.Read(element, ["msg-type", "address", "max-eml-bytes"], new GlobalRelayEndpointConfig
        {
            Name = element.Name, Host = "", Port = 0, Tls = SmtpTlsMode.StartTls, From = "", To = [],
            MessageType = SmtpEndpointReader.HeaderToken(element, "msg-type", "XMPP"),
            AddressTemplate = SmtpEndpointReader.AddressTemplate(element),
        });

    /// <inheritdoc />
    protected override SmtpSink CreateSmtpSink(GlobalRelayEndpointConfig config, SinkContext context) =>
        new GlobalRelaySink(config, context.Loggers.CreateLogger<GlobalRelaySink>());
}

/// <summary><c>&lt;drc-cm&gt;</c>: HP Autonomy DRC-CM journaling.</summary>
public sealed class DrcCmEndpointType : SmtpEndpointType<DrcCmEndpointConfig>
{
    /// <inheritdoc />
    public override string TypeName => "drc-cm";

    /// <inheritdoc />
    protected override DrcCmEndpointConfig ReadSettings(EndpointElement element) =>
        SmtpEndpointReader.Read(element, ["subject"], new DrcCmEndpointConfig
        {
            Name = element.Name, Host = "", Port = 0, Tls = SmtpTlsMode.StartTls, From = "", To = [],
            SubjectTemplate = SmtpEndpointReader.SubjectTemplate(element),
        });

    /// <inheritdoc />
    protected override SmtpSink CreateSmtpSink(DrcCmEndpointConfig config, SinkContext context) =>
        new DrcCmSink(config, context.Loggers.CreateLogger<DrcCmSink>());
}

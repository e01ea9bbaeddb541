using System.Globalization;
using ImLogger.Config;
using ImLogger.Conversations;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace ImLogger.Sinks;

/// <summary>
/// <c>secure-smtp</c>: the transcript as an e-mail (text and HTML alternatives, as <see cref="TranscriptMessageBuilder"/>
/// renders it) to the organization's own mail archive, over SMTP with TLS.
/// </summary>
public sealed class SecureSmtpSink : SmtpSink
{
    private readonly SecureSmtpEndpointConfig _config;
    private readonly TranscriptMessageBuilder _builder;

    /// <summary>Creates the sink.</summary>
    /// <param name="config">Endpoint settings.</param>
    /// <param name="logger">Logger.</param>
    /// <exception cref="ArgumentException">An address in the settings cannot be parsed.</exception>
    public SecureSmtpSink(SecureSmtpEndpointConfig config, ILogger<SecureSmtpSink> logger) : base(config, logger)
    {
        _config = config;
        _builder = new TranscriptMessageBuilder(config.From);
    }

    /// <inheritdoc />
    protected override MimeMessage Shape(Transcript transcript, TranscriptPart? part)
    {
        // Addressed as the conversation was (From the first sender, To/Cc the others: TranscriptMessageBuilder.Addressing.cs),
        // so the mail archive sorts it by person; the configured recipients get it through the SMTP envelope.
        var message = _builder.Build(transcript, part);
        if (_config.SubjectTemplate is { } template) message.Subject = SubjectTemplate.Render(template, transcript);
        return message;
    }
}

/// <summary>Renders the admin's subject template ({conversation}, {participants}, {messages}, {start}, {end}, {type}).</summary>
/// <remarks>Every value is user text made header-safe first (no CR/LF, length-capped), and the result once more.</remarks>
internal static class SubjectTemplate
{
    public static string Render(string template, Transcript t)
    {
        var messages = t.Events.Count(e => e.Kind == EventKind.Message);
        var text = template
            .Replace("{conversation}", TranscriptMessageBuilder.HeaderValue(t.ConversationKey, 200), StringComparison.Ordinal)
            .Replace("{participants}", TranscriptMessageBuilder.JoinTruncated(t.Participants, TranscriptMessageBuilder.MaxSubjectParticipants, 300), StringComparison.Ordinal)
            .Replace("{messages}", messages.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{start}", t.OpenedUtc.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{end}", t.ClosedUtc.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{type}", t.ConversationType == ConversationType.OneToOne ? "chat" : "group chat", StringComparison.Ordinal);
        return TranscriptMessageBuilder.HeaderValue(text, 900);
    }
}

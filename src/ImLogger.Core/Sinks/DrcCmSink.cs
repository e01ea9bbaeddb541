using ImLogger.Config;
using ImLogger.Conversations;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace ImLogger.Sinks;

/// <summary>
/// <c>drc-cm</c>: HP Autonomy DRC-CM (formerly Iron Mountain) SMTP journaling. The message's body is the readable
/// transcript (text and HTML alternatives); the same conversation travels as structured XML in an attachment
/// (<see cref="DrcCmConversationXml"/>), which is where the archive's indexer reads participants and times.
/// </summary>
/// <remarks>DRC-CM's own ingestion specification is not public; docs/endpoints.md says exactly what is assumed.</remarks>
public sealed class DrcCmSink : SmtpSink
{
    private readonly DrcCmEndpointConfig _config;
    private readonly TranscriptMessageBuilder _builder;

    /// <summary>Creates the sink.</summary>
    /// <param name="config">Endpoint settings.</param>
    /// <param name="logger">Logger.</param>
    /// <exception cref="ArgumentException">An address in the settings cannot be parsed.</exception>
    public DrcCmSink(DrcCmEndpointConfig config, ILogger<DrcCmSink> logger) : base(config, logger)
    {
        _config = config;
        _builder = new TranscriptMessageBuilder(config.From);
    }

    /// <inheritdoc />
    /// <remarks>A part's attachment holds the part's events (file name with the part number), so each part is a
    /// complete journal item on its own.</remarks>
    protected override MimeMessage Shape(Transcript transcript, TranscriptPart? part)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var message = _builder.Build(transcript, part);
        // DRC-CM journals are addressed to the journal (its XML attachment names the participants); From stays the first
        // sender, so the mail side still sorts by person.
        message.To.Clear();
        message.Cc.Clear();
        message.To.AddRange(Recipients);
        if (_config.SubjectTemplate is { } template) message.Subject = SubjectTemplate.Render(template, transcript);
        message.Headers.Add("X-ImLogger-Format", "drc-cm; conversation-xml=actiance-filedump");
        message.Headers.Add("Auto-Submitted", "auto-generated");

        var attachment = new MimePart("application", "xml")
        {
            Content = new MimeContent(new MemoryStream(DrcCmConversationXml.Render(transcript))),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = part is null ? DrcCmConversationXml.FileNameFor(transcript)
                : DrcCmConversationXml.FileNameFor(transcript).Replace(".xml", $".part{part.Number}.xml", StringComparison.Ordinal),
        };
        attachment.ContentType.Charset = "utf-8";
        var mixed = new Multipart("mixed") { message.Body ?? throw new InvalidOperationException("the transcript message has no body"), attachment };
        message.Body = mixed;
        return message;
    }
}

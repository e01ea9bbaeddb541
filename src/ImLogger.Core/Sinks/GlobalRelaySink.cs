using System.Globalization;
using ImLogger.Config;
using ImLogger.Conversations;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.IO;

namespace ImLogger.Sinks;

/// <summary>
/// <c>global-relay</c>: Global Relay Message Archiver ingestion, one EML per conversation over SMTP/TLS, in the conventions
/// public chat exporters use for it (docs/endpoints.md lists them).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>X-GlobalRelay-MsgType</c> names the source system (default "XMPP").</item>
/// <item>Subject "Chat, N Users, M Messages, D Minutes".</item>
/// <item>From is the first sender, To every other participant, each JID mapped to an address by the configured rule
/// (default the JID itself); the SMTP envelope goes to the configured Global Relay address.</item>
/// <item>HTML body (with its plain text alternative), <c>Auto-Submitted: auto-generated</c>, <c>Precedence: bulk</c>.</item>
/// <item>A transcript whose EML would exceed the cap (Global Relay's published 250 MB) is split into numbered parts, each
/// with its own stable Message-ID <c>&lt;{id}.part{k}@domain&gt;</c>, so nothing is dropped and a redelivery repeats the
/// same parts.</item>
/// </list>
/// </remarks>
public sealed class GlobalRelaySink : SmtpSink
{
    /// <summary>Room left for the part number in the subject and headers once the split is fixed.</summary>
    private const long PartOverhead = 4096;

    private readonly GlobalRelayEndpointConfig _config;
    private readonly TranscriptMessageBuilder _builder;
    private readonly ILogger<GlobalRelaySink> _logger;

    /// <summary>Creates the sink.</summary>
    /// <param name="config">Endpoint settings.</param>
    /// <param name="logger">Logger.</param>
    /// <exception cref="ArgumentException">An address in the settings cannot be parsed.</exception>
    public GlobalRelaySink(GlobalRelayEndpointConfig config, ILogger<GlobalRelaySink> logger) : base(config, logger)
    {
        _config = config;
        _builder = new TranscriptMessageBuilder(config.From);
        _logger = logger;
    }

    /// <summary>"Chat, N Users, M Messages, D Minutes" for the given events.</summary>
    public static string Subject(Transcript transcript)
    {
        var users = UserCount(transcript);
        var messages = transcript.Events.Count(e => e.Kind == EventKind.Message);
        return string.Create(CultureInfo.InvariantCulture, $"Chat, {users} Users, {messages} Messages, {Minutes(transcript)} Minutes");
    }

    /// <summary>Whole minutes from the first to the last event, rounded up, at least 1 (a conversation of seconds is "1 Minutes").</summary>
    internal static long Minutes(Transcript transcript)
    {
        if (transcript.Events.Count == 0) return 1;
        var span = transcript.Events[^1].ReceivedUtc - transcript.Events[0].ReceivedUtc;
        return Math.Max(1, (long)Math.Ceiling(span.TotalMinutes));
    }

    private static int UserCount(Transcript transcript)
    {
        var nicks = transcript.Events.Where(e => string.IsNullOrEmpty(e.SenderBareJid) && !string.IsNullOrEmpty(e.Nick))
            .Select(e => e.Nick!).Distinct(StringComparer.Ordinal).Count();
        return People(transcript).Count + (transcript.ConversationType == ConversationType.GroupChat ? nicks : 0);
    }

    /// <summary>Participants who are people: from the events other than ImLogger's own notices (whose addressing is the
    /// component's, not the conversation's), and only JIDs with a local part (a bare domain is a server).</summary>
    private static IReadOnlyList<string> People(Transcript transcript) =>
        (transcript with { Events = transcript.Events.Where(e => e.Kind != EventKind.Notice).ToList() }).Participants
            .Select(p => p.Trim()).Where(p => p.IndexOf('@') > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The address a participant's bare JID maps to under the configured rule.</summary>
    public string AddressFor(string bareJid)
    {
        var at = bareJid.IndexOf('@');
        var local = at > 0 ? bareJid[..at] : bareJid;
        var domain = at > 0 ? bareJid[(at + 1)..] : bareJid;
        return _config.AddressTemplate.Replace("{jid}", bareJid, StringComparison.Ordinal)
            .Replace("{local}", local, StringComparison.Ordinal).Replace("{domain}", domain, StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public override IReadOnlyList<MimeMessage> Compose(Transcript transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var whole = Shape(transcript, transcript.Id, part: null);
        if (Size(whole) <= _config.MaxMessageBytes) return [whole];

        var chunks = new List<IReadOnlyList<ConversationEvent>>();
        Split(transcript, transcript.Events, _config.MaxMessageBytes - PartOverhead, chunks);
        var messages = new List<MimeMessage>(chunks.Count);
        for (var i = 0; i < chunks.Count; i++)
        {
            var partId = string.Create(CultureInfo.InvariantCulture, $"{transcript.Id}.part{i + 1}");
            messages.Add(Shape(transcript with { Events = chunks[i] }, partId, (i + 1, chunks.Count)));
        }
        _logger.LogInformation("transcript {Id} is larger than {Max} bytes as one EML; sent to {Endpoint} as {Parts} parts",
            transcript.Id, _config.MaxMessageBytes, Name, messages.Count);
        return messages;
    }

    /// <summary>Halves the events until each half's EML fits (deterministic: the same transcript always splits the same way).
    /// A single event larger than the cap is sent alone; the server then accepts or refuses it, and a refusal is a
    /// dead letter with the server's reason, never a silent drop.</summary>
    private void Split(Transcript transcript, IReadOnlyList<ConversationEvent> events, long max, List<IReadOnlyList<ConversationEvent>> into)
    {
        if (events.Count <= 1 || Size(Shape(transcript with { Events = events }, transcript.Id, (1, 1))) <= max)
        {
            into.Add(events);
            return;
        }
        var half = events.Count / 2;
        Split(transcript, events.Take(half).ToList(), max, into);
        Split(transcript, events.Skip(half).ToList(), max, into);
    }

    private MimeMessage Shape(Transcript transcript, string id, (int Number, int Of)? part)
    {
        var message = _builder.Build(transcript with { Id = id });
        var participants = People(transcript);
        var first = transcript.Events.Select(e => e.SenderBareJid).FirstOrDefault(j => !string.IsNullOrEmpty(j) && participants.Contains(j));
        var from = first ?? participants.FirstOrDefault();
        message.From.Clear();
        message.To.Clear();
        if (from is null)
        {
            message.From.Add(Sender);
            message.To.AddRange(Recipients);
        }
        else
        {
            message.From.Add(Mailbox(from));
            var others = participants.Where(p => p != from).Select(Mailbox).ToList();
            if (others.Count == 0) others.Add(Mailbox(from));
            message.To.AddRange(others);
        }
        message.Subject = Subject(transcript) + (part is { } p && p.Of > 1 ? string.Create(CultureInfo.InvariantCulture, $" (part {p.Number} of {p.Of})") : "");
        message.Headers.Add("X-GlobalRelay-MsgType", _config.MessageType);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Headers.Add("Precedence", "bulk");
        if (part is { } q && q.Of > 1)
        {
            message.Headers.Add("X-ImLogger-Part", string.Create(CultureInfo.InvariantCulture, $"{q.Number}/{q.Of}"));
            message.Headers.Replace("X-ImLogger-Transcript-Id", TranscriptMessageBuilder.SafeToken(transcript.Id));
        }
        return message;
    }

    /// <summary>A JID as a mailbox: the mapped address, the JID as display name. Unparseable results fall back to a
    /// header-safe token at the sender's domain, so user text never reaches the header raw.</summary>
    private MailboxAddress Mailbox(string bareJid)
    {
        var address = AddressFor(bareJid);
        var display = TranscriptMessageBuilder.HeaderValue(bareJid, 200);
        if (MailboxAddress.TryParse(address, out var parsed) && parsed.Address.Contains('@') && !parsed.Address.Any(char.IsControl))
            return new MailboxAddress(display, parsed.Address);
        return new MailboxAddress(display, $"{TranscriptMessageBuilder.SafeToken(bareJid)}@{(Sender.Domain.Length > 0 ? Sender.Domain : "imlogger.invalid")}");
    }

    /// <summary>Measured as it travels: CRLF line endings (SMTP's, and what an EML file holds), whatever the OS.</summary>
    private static readonly FormatOptions WireFormat = CreateWireFormat();

    private static FormatOptions CreateWireFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }

    private static long Size(MimeMessage message)
    {
        using var measure = new MeasuringStream();
        message.WriteTo(WireFormat, measure);
        return measure.Length;
    }
}

using System.Globalization;
using ImLogger.Config;
using ImLogger.Conversations;
using Microsoft.Extensions.Logging;
using MimeKit;

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
/// <item>A transcript whose EML would exceed the cap (Global Relay's published 250 MB, or less by <c>max-message-size</c>
/// or the server's SIZE) is split into numbered parts as every SMTP endpoint does (<see cref="SmtpSink"/>), so nothing is
/// dropped and a redelivery repeats the same parts.</item>
/// </list>
/// </remarks>
public sealed class GlobalRelaySink : SmtpSink
{
    private readonly GlobalRelayEndpointConfig _config;
    private readonly TranscriptMessageBuilder _builder;

    /// <summary>Creates the sink.</summary>
    /// <param name="config">Endpoint settings.</param>
    /// <param name="logger">Logger.</param>
    /// <exception cref="ArgumentException">An address in the settings cannot be parsed.</exception>
    public GlobalRelaySink(GlobalRelayEndpointConfig config, ILogger<GlobalRelaySink> logger) : base(config, logger)
    {
        _config = config;
        _builder = new TranscriptMessageBuilder(config.From);
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
    protected override MimeMessage Shape(Transcript transcript, TranscriptPart? part)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var message = _builder.Build(transcript, part);
        var participants = People(transcript);
        var first = transcript.Events.Select(e => e.SenderBareJid).FirstOrDefault(j => !string.IsNullOrEmpty(j) && participants.Contains(j));
        var from = first ?? participants.FirstOrDefault();
        message.From.Clear();
        message.To.Clear();
        message.Cc.Clear(); // Global Relay's own addressing below names every participant in To
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
        message.Subject = Subject(transcript);
        message.Headers.Add("X-GlobalRelay-MsgType", _config.MessageType);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Headers.Add("Precedence", "bulk");
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
}

using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;
using ImLogger.Conversations;
using MimeKit;

namespace ImLogger.Sinks;

/// <summary>
/// Renders a <see cref="Transcript"/> as an RFC 5322 message (multipart/alternative: text/plain and text/html),
/// the form both the directory and the mail endpoints deliver.
/// </summary>
/// <remarks>
/// User data (JIDs, nicks, bodies) never reaches a header unsanitised: control characters (CR, LF, ...) are
/// replaced and long lists are truncated before MimeKit encodes the value. In the HTML part every piece of
/// user content is HTML-encoded; a received XHTML-IM body is shown beside the plain text only after
/// HtmlSanitizer has kept the formatting and dropped everything else (scripts, remote images, styles
/// beyond colour and emphasis); an emoticon image becomes its alt text.
/// The Message-ID is derived from the transcript id, so a redelivery is recognisably the same message.
/// </remarks>
public sealed partial class TranscriptMessageBuilder
{
    /// <summary>Participants named in the subject before "and N more".</summary>
    public const int MaxSubjectParticipants = 5;

    /// <summary>Participants listed in the X-ImLogger-Participants header before "and N more".</summary>
    public const int MaxHeaderParticipants = 50;

    private const int MaxHeaderValueLength = 200;

    private readonly MailboxAddress _from;
    private readonly MailboxAddress _to;
    private readonly string _domain;

    /// <summary>Creates a builder.</summary>
    /// <param name="archiveAddress">From address of the archive messages, e.g. "imlogger@archive.example.test";
    /// its domain is the Message-ID's right-hand side.</param>
    /// <param name="toAddress">To address; the archive address when null.</param>
    /// <exception cref="ArgumentException">An address cannot be parsed.</exception>
    public TranscriptMessageBuilder(string archiveAddress, string? toAddress = null)
    {
        _from = ParseAddress(archiveAddress, nameof(archiveAddress));
        _to = toAddress is null ? _from : ParseAddress(toAddress, nameof(toAddress));
        var at = _from.Address.LastIndexOf('@');
        _domain = at >= 0 && at < _from.Address.Length - 1 ? _from.Address[(at + 1)..] : "imlogger.invalid";
    }

    private static MailboxAddress ParseAddress(string address, string parameter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address, parameter);
        if (!MailboxAddress.TryParse(address, out var mailbox) || string.IsNullOrEmpty(mailbox.Address) || !mailbox.Address.Contains('@'))
            throw new ArgumentException($"'{address}' is not a valid e-mail address.", parameter);
        return mailbox;
    }

    /// <summary>The Message-ID (without angle brackets) a transcript's message gets.</summary>
    public string MessageIdFor(Transcript transcript) => $"{SafeToken(transcript.Id)}@{_domain}";

    /// <summary>Builds the message.</summary>
    /// <param name="transcript">The transcript (for a part: with only that part's events).</param>
    /// <param name="part">Which part of a split transcript this is, said at the top of the body; null for a whole one.</param>
    public MimeMessage Build(Transcript transcript, TranscriptPart? part = null)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var subject = Subject(transcript);
        var message = new MimeMessage();
        Address(message, transcript); // TranscriptMessageBuilder.Addressing.cs
        message.Subject = subject;
        message.Date = LastEventUtc(transcript).ToUniversalTime();
        message.MessageId = MessageIdFor(transcript);
        message.Headers.Add("X-ImLogger-Conversation", HeaderValue(transcript.ConversationKey, MaxHeaderValueLength));
        message.Headers.Add("X-ImLogger-Conversation-Type", transcript.ConversationType.ToString());
        message.Headers.Add("X-ImLogger-Transcript-Id", SafeToken(transcript.Id));
        message.Headers.Add("X-ImLogger-Participants", JoinTruncated(transcript.Participants, MaxHeaderParticipants, 900));
        message.Headers.Add("X-ImLogger-Logged-Users", JoinTruncated(transcript.LoggedUsers, MaxHeaderParticipants, 900));

        var body = new BodyBuilder
        {
            TextBody = RenderText(transcript, part),
            HtmlBody = RenderHtml(transcript, subject, part),
        };
        message.Body = body.ToMessageBody();
        return message;
    }

    /// <summary>The subject line (already sanitised).</summary>
    public static string Subject(Transcript transcript)
    {
        var messages = transcript.Events.Count(e => e.Kind == EventKind.Message);
        var messagesText = messages == 1 ? "1 message" : $"{messages} messages";
        if (transcript.ConversationType == ConversationType.OneToOne)
        {
            var parties = JidText.Parties(transcript.ConversationKey);
            return $"XMPP chat: {JoinTruncated(parties, MaxSubjectParticipants, 300)} — {messagesText}";
        }
        var participants = ParticipantCount(transcript);
        var participantsText = participants == 1 ? "1 participant" : $"{participants} participants";
        return $"XMPP group chat {HeaderValue(transcript.ConversationKey, MaxHeaderValueLength)} — {participantsText}, {messagesText}";
    }

    /// <summary>Group chat participants: known real JIDs or distinct nicks, whichever is larger (anonymous rooms hide JIDs).</summary>
    private static int ParticipantCount(Transcript transcript)
    {
        var nicks = transcript.Events.Where(e => !string.IsNullOrEmpty(e.Nick)).Select(e => e.Nick!).Distinct(StringComparer.Ordinal).Count();
        return Math.Max(nicks, transcript.Participants.Count);
    }

    // ---------------------------------------------------------------- sanitising

    /// <summary>One line of header-safe text: control and line/paragraph separator characters become spaces,
    /// runs of whitespace collapse, long values are cut with an ellipsis.</summary>
    internal static string HeaderValue(string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var sb = new StringBuilder(Math.Min(value.Length, maxLength + 1));
        var lastWasSpace = false;
        foreach (var c in value)
        {
            var space = char.IsControl(c) || char.IsWhiteSpace(c) || c is '\u2028' or '\u2029' or '\u0085';
            if (space)
            {
                if (!lastWasSpace && sb.Length > 0) sb.Append(' ');
                lastWasSpace = true;
            }
            else
            {
                sb.Append(c);
                lastWasSpace = false;
            }
        }
        var s = sb.ToString().TrimEnd();
        if (s.Length > maxLength)
        {
            var cut = maxLength - 1;
            if (cut > 0 && char.IsHighSurrogate(s[cut - 1])) cut--;
            s = s[..cut] + "…";
        }
        return s;
    }

    /// <summary>"a, b, c and 7 more", each item sanitised, the whole at most <paramref name="maxLength"/> characters.</summary>
    internal static string JoinTruncated(IReadOnlyList<string> items, int maxItems, int maxLength)
    {
        var shown = items.Take(maxItems).Select(i => HeaderValue(i, MaxHeaderValueLength)).Where(i => i.Length > 0).ToList();
        var text = string.Join(", ", shown);
        var rest = items.Count - shown.Count;
        if (rest > 0) text += $" and {rest} more";
        return HeaderValue(text, maxLength);
    }

    /// <summary>Only [A-Za-z0-9._-] (for the Message-ID's left-hand side and file names).</summary>
    internal static string SafeToken(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        return sb.Length == 0 ? "_" : sb.ToString();
    }

    /// <summary>Body text without control characters other than newline and tab; CRLF/CR become LF.</summary>
    internal static string BodyText(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var s = value.Replace("\r\n", "\n").Replace('\r', '\n');
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c is '\n' or '\t') sb.Append(c);
            else if (c is '\u2028' or '\u2029' or '\u0085') sb.Append('\n');
            else if (char.IsControl(c)) sb.Append('\uFFFD');
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The text of an XHTML-IM body (images by their alt text, line breaks kept); never markup.</summary>
    internal static string HtmlToText(string html)
    {
        try
        {
            return Classifier.XhtmlText.ToText(XElement.Parse(html, LoadOptions.PreserveWhitespace));
        }
        catch (System.Xml.XmlException)
        {
            // Not well-formed XML: let an HTML parser (forgiving, no regexes) take the text; it is encoded again on output.
            var document = new AngleSharp.Html.Parser.HtmlParser().ParseDocument("<body>" + html);
            return (document.Body?.TextContent ?? "").Trim();
        }
    }

    // ---------------------------------------------------------------- rendering

    /// <summary>"2026-11-25 08:52:21Z", or with a local zone "2026-11-25 08:52:21Z / 09:52:21 local".</summary>
    private static string Timestamp(DateTimeOffset t, TimeZoneInfo? local) =>
        local == null ? Timestamp(t) : Timestamp(t) + " / " + TimeZoneInfo.ConvertTime(t, local).ToString("HH:mm:ss", CultureInfo.InvariantCulture) + " local";

    /// <summary>What "local" means in a transcript: "all times UTC; local = Europe/Berlin (UTC+01:00 at the start)".</summary>
    private static string TimeNote(Transcript t) => t.LocalTimeZone is not { } zone ? "all times UTC"
        : $"all times UTC; local = {zone.Id} (UTC{(zone.GetUtcOffset(t.OpenedUtc) < TimeSpan.Zero ? "-" : "+")}{zone.GetUtcOffset(t.OpenedUtc):hh\\:mm} at the start)";

    /// <summary>Replayed room history says so, with the time the room stamped: it was shown on join, not said then.</summary>
    private static string HistoryNote(ConversationEvent e) =>
        e.HistorySaidUtc is { } said ? $"(room history, originally sent {Timestamp(said)}) " : "";

    private static string Timestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string? Bare(string? jid)
    {
        if (string.IsNullOrEmpty(jid)) return null;
        var slash = jid.IndexOf('/');
        return slash < 0 ? jid : jid[..slash];
    }

    private static string? Resource(string? jid)
    {
        if (string.IsNullOrEmpty(jid)) return null;
        var slash = jid.IndexOf('/');
        return slash < 0 ? null : jid[(slash + 1)..];
    }

    /// <summary>The message text of an event: its plain text, else the text of its XHTML-IM body.</summary>
    private static string MessageText(ConversationEvent e) =>
        BodyText(!string.IsNullOrEmpty(e.Text) ? e.Text : e.Html is { Length: > 0 } html ? HtmlToText(html) : "");

    /// <summary>"bob (bob@example.test)", "bob", or the JID, for occupants.</summary>
    private static string Occupant(ConversationEvent e)
    {
        // A logged user's own stanza to the room comes from their JID, whose resource is a device, not a nick.
        var ownJid = e.SenderBareJid != null && Bare(e.From) == e.SenderBareJid;
        var nick = Line(e.Nick ?? (ownJid ? null : Resource(e.From)));
        var jid = Line(e.SenderBareJid);
        if (nick.Length > 0 && jid.Length > 0) return $"{nick} ({jid})";
        if (nick.Length > 0) return nick;
        return jid.Length > 0 ? jid : Line(e.From);
    }

    /// <summary>User text meant for a single line (names, JIDs).</summary>
    private static string Line(string? value) => HeaderValue(value, 1000);

    private static string Sender(ConversationEvent e) =>
        e.ConversationType == ConversationType.GroupChat ? Occupant(e) : Line(e.From);

    /// <summary>The addressee worth showing: none for room messages (sent to the room, whoever's copy this is).</summary>
    private static string? Recipient(ConversationEvent e) =>
        e.ConversationType == ConversationType.GroupChat && (e.StanzaType == "groupchat" || Bare(e.To) == e.ConversationKey) ? null : Line(e.To);

    /// <summary>What happened, without the sender, for presence-like events.</summary>
    private static string PresenceText(ConversationEvent e)
    {
        var reason = BodyText(e.Text);
        var suffix = reason.Length > 0 ? ": " + reason : "";
        // Only presence-shaped events (ShapeOf) come here: joined, present, or left in one of its ways.
        if (e.Kind == EventKind.Joined) return "joined the room";
        if (e.Kind == EventKind.Present) return "was in the room";
        return e.StatusCodes.Contains(301) ? "was banned from the room" + suffix
            : e.StatusCodes.Contains(307) ? "was kicked from the room" + suffix
            : e.StatusCodes.Contains(321) ? "was removed from the room (affiliation change)" + suffix
            : e.StatusCodes.Contains(322) ? "was removed from the room (members only)" + suffix
            : e.StatusCodes.Contains(332) ? "was removed from the room (service shut down)" + suffix
            : "left the room" + suffix;
    }

    private static string Indent(string text) => text.Replace("\n", "\n    ");

    internal static string RenderLine(ConversationEvent e) => RenderLine(e, MessageIndex.Empty);

    internal static string RenderLine(ConversationEvent e, MessageIndex index, TimeZoneInfo? local = null)
    {
        var ts = $"[{Timestamp(e.ReceivedUtc, local)}] " + HistoryNote(e);
        return ShapeOf(e.Kind) switch
        {
            EventShape.Sentence => ts + "* " + EventSentence(e, index),
            EventShape.Encrypted => ts + Sender(e) + (Recipient(e) is { } encryptedTo ? " -> " + encryptedTo : "") + ": " + EncryptedText(e),
            EventShape.Message => ts + Sender(e) + (Recipient(e) is { } to ? " -> " + to : "") + ": " + Indent(MessageText(e)) + BouncedNote(e, index),
            EventShape.Notice => ts + NoticeLabel(e, index) + NoticeText(e, index, Indent),
            EventShape.Presence => ts + "* " + Occupant(e) + " " + Indent(PresenceText(e)),
        };
    }

    private static string Heading(Transcript t) =>
        t.ConversationType == ConversationType.OneToOne
            ? "Chat between " + string.Join(" and ", JidText.Parties(t.ConversationKey).Select(Line))
            : "Group chat in " + Line(t.ConversationKey);

    private static string RenderText(Transcript t, TranscriptPart? part)
    {
        var sb = new StringBuilder();
        sb.Append(Heading(t)).Append('\n');
        if (part is not null) sb.Append(part.Note).Append('\n');
        sb.Append("From ").Append(Timestamp(t.OpenedUtc, t.LocalTimeZone)).Append(" to ").Append(Timestamp(LastEventUtc(t), t.LocalTimeZone)).Append(" (").Append(TimeNote(t)).Append(")\n");
        sb.Append("Participants: ").Append(string.Join(", ", t.Participants.Select(Line))).Append('\n');
        sb.Append("Logged users: ").Append(string.Join(", ", t.LoggedUsers.Select(Line))).Append('\n');
        sb.Append("Transcript: ").Append(SafeToken(t.Id)).Append('\n');
        sb.Append('\n');
        var index = new MessageIndex(t.Events);
        foreach (var e in t.Events)
            if (!index.Folded(e)) sb.Append(RenderLine(e, index, t.LocalTimeZone)).Append('\n');
        return sb.ToString();
    }

    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    /// <summary>Encoded, with line breaks as &lt;br&gt;.</summary>
    private static string HMultiline(string s) => H(s).Replace("\n", "<br>\n");

    private static string RenderHtml(Transcript t, string subject, TranscriptPart? part)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<title>").Append(H(subject)).Append("</title>\n");
        sb.Append("<style>\n")
          .Append("body{font-family:sans-serif;font-size:14px;color:#222}\n")
          .Append("table{border-collapse:collapse;width:100%}\n")
          .Append("th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\n")
          .Append("th{background:#f0f0f0}\n")
          .Append("td.time{white-space:nowrap;font-family:monospace;color:#555}\n")
          .Append("tr.presence td,tr.notice td,tr.event td{color:#666;font-style:italic}\n")
          .Append("tr.event td.what{color:#222;font-style:normal}\n")
          .Append("div.formatted{margin-top:4px;padding-left:6px;border-left:3px solid #ddd}\n")
          .Append("code.raw{white-space:pre-wrap;word-break:break-all;font-size:12px}\n")
          .Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>").Append(H(Heading(t))).Append("</h1>\n");
        if (part is not null) sb.Append("<p><strong>").Append(H(part.Note)).Append("</strong></p>\n");
        sb.Append("<p>").Append(H(Timestamp(t.OpenedUtc, t.LocalTimeZone))).Append(" to ").Append(H(Timestamp(LastEventUtc(t), t.LocalTimeZone)))
          .Append(t.LocalTimeZone == null ? ". <strong>All times are UTC.</strong></p>\n" : ". <strong>" + H(TimeNote(t)) + ".</strong></p>\n");
        sb.Append("<p>Participants: ").Append(H(string.Join(", ", t.Participants.Select(Line)))).Append("<br>\n");
        sb.Append("Logged users: ").Append(H(string.Join(", ", t.LoggedUsers.Select(Line)))).Append("<br>\n");
        sb.Append("Transcript: ").Append(H(SafeToken(t.Id))).Append("</p>\n");
        sb.Append(t.LocalTimeZone == null ? "<table>\n<thead><tr><th>Time (UTC)</th>" : "<table>\n<thead><tr><th>Time (UTC / local)</th>").Append("<th>From</th><th>To</th><th>Message</th></tr></thead>\n<tbody>\n");
        var index = new MessageIndex(t.Events);
        foreach (var e in t.Events)
        {
            if (index.Folded(e)) continue; // a notice's outcome, said on the notice's own line
            var time = H(Timestamp(e.ReceivedUtc, t.LocalTimeZone) + (HistoryNote(e) is { Length: > 0 } note ? " " + note.Trim() : ""));
            if (e.Kind == EventKind.Unclassified)
            {
                sb.Append("<tr class=\"event\"><td class=\"time\">").Append(time).Append("</td><td colspan=\"3\" class=\"what\">* ")
                  .Append(H(Actor(e))).Append(Counterpart(e) is { } u ? " -&gt; " + H(u) : "")
                  .Append(H(UnclassifiedSentence(e)))
                  .Append(", kept as raw XML:<br>\n<code class=\"raw\">").Append(H(RawXmlShown(e))).Append("</code></td></tr>\n");
                continue;
            }
            switch (ShapeOf(e.Kind))
            {
                case EventShape.Sentence:
                    sb.Append("<tr class=\"event\"><td class=\"time\">").Append(time).Append("</td><td colspan=\"3\" class=\"what\">* ")
                      .Append(HMultiline(EventSentence(e, index) ?? "")).Append("</td></tr>\n");
                    break;
                case EventShape.Message:
                    sb.Append("<tr class=\"message\"><td class=\"time\">").Append(time).Append("</td><td>").Append(H(Sender(e)))
                      .Append("</td><td>").Append(H(Recipient(e) ?? "")).Append("</td><td>").Append(HMultiline(MessageText(e)))
                      .Append(FormattedHtml(e)).Append(H(BouncedNote(e, index))).Append("</td></tr>\n");
                    break;
                case EventShape.Encrypted:
                    sb.Append("<tr class=\"message encrypted\"><td class=\"time\">").Append(time).Append("</td><td>").Append(H(Sender(e)))
                      .Append("</td><td>").Append(H(Recipient(e) ?? "")).Append("</td><td><em>").Append(H(EncryptedText(e))).Append("</em></td></tr>\n");
                    break;
                case EventShape.Notice:
                    sb.Append("<tr class=\"notice\"><td class=\"time\">").Append(time).Append("</td><td colspan=\"3\">").Append(H(NoticeLabel(e, index)))
                      .Append(NoticeText(e, index, HMultiline)).Append("</td></tr>\n");
                    break;
                case EventShape.Presence:
                    sb.Append("<tr class=\"presence\"><td class=\"time\">").Append(time).Append("</td><td colspan=\"3\">* ")
                      .Append(H(Occupant(e))).Append(' ').Append(HMultiline(PresenceText(e))).Append("</td></tr>\n");
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(t), e.Kind, "an event kind without a shape");
            }
        }
        sb.Append("</tbody>\n</table>\n</body>\n</html>\n");
        return sb.ToString();
    }
}

using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using ImLogger.Conversations;

namespace ImLogger.Sinks;

/// <summary>
/// The structured XML a <c>drc-cm</c> message carries as its attachment: the one place that knows its format, so it can
/// follow HP Autonomy's own ingestion specification once a customer supplies it.
/// </summary>
/// <remarks>
/// The shape is the Actiance "FileDump" conversation format that compliance archives commonly ingest (and Mattermost's
/// Actiance export writes): a <c>Conversation</c> with <c>StartTimeUTC</c>, <c>ParticipantEntered</c>, <c>Message</c>,
/// <c>ParticipantLeft</c>, <c>EndTimeUTC</c>, each with <c>LoginName</c> and <c>DateTimeUTC</c> (Unix epoch seconds, UTC).
/// Additions, each documented in docs/endpoints.md: ISO 8601 twins of the times (<c>DateTimeUTCISO</c>), and
/// <c>SystemEvent</c> elements for notices and any other non-message event. Every text is an XML text node written by
/// <see cref="XmlWriter"/>, so user content cannot change the structure; characters XML 1.0 forbids become U+FFFD.
/// </remarks>
public static class DrcCmConversationXml
{
    /// <summary>The attachment's MIME type.</summary>
    public const string MediaType = "application/xml";

    /// <summary>The attachment's file name for a transcript.</summary>
    public static string FileNameFor(Transcript transcript) => $"conversation-{TranscriptMessageBuilder.SafeToken(transcript.Id)}.xml";

    /// <summary>Renders the conversation (UTF-8, no BOM, indented).</summary>
    public static byte[] Render(Transcript transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var conversation = new XElement("Conversation",
            new XAttribute("Perspective", Clean(transcript.ConversationKey)),
            new XElement("RoomID", Clean(RoomId(transcript))),
            new XElement("ConversationType", transcript.ConversationType == ConversationType.OneToOne ? "chat" : "groupchat"),
            new XElement("TranscriptID", transcript.Id),
            Time("StartTimeUTC", transcript.OpenedUtc));

        var present = new HashSet<string>(StringComparer.Ordinal);
        void Enter(string login, string? name, DateTimeOffset at)
        {
            if (!present.Add(login)) return;
            conversation.Add(new XElement("ParticipantEntered",
                new XElement("LoginName", Clean(login)),
                new XElement("UserName", Clean(name ?? login)),
                new XElement("UserType", transcript.LoggedUsers.Contains(login) ? "logged" : "participant"),
                Time("DateTimeUTC", at)));
        }
        void Leave(string login, string? name, DateTimeOffset at)
        {
            if (!present.Remove(login)) return;
            conversation.Add(new XElement("ParticipantLeft",
                new XElement("LoginName", Clean(login)),
                new XElement("UserName", Clean(name ?? login)),
                Time("DateTimeUTC", at)));
        }

        // One-to-one: both parties are in the conversation from its first event.
        if (transcript.ConversationType == ConversationType.OneToOne)
            foreach (var p in JidText.Parties(transcript.ConversationKey)) Enter(p, null, transcript.OpenedUtc);

        var index = new TranscriptMessageBuilder.MessageIndex(transcript.Events);
        foreach (var e in transcript.Events)
        {
            if (index.Folded(e)) continue; // a notice's outcome, said in the notice's own SystemEvent
            var login = Login(e);
            // DRC-CM has its own elements for entering, leaving and messages; everything else is a SystemEvent with the
            // transcript's sentence. A switch expression over every kind, without a discard: a new kind fails the build here.
            var shape = e.Kind switch
            {
                EventKind.Joined or EventKind.Present => DrcShape.Enter,
                EventKind.Left => DrcShape.Leave,
                EventKind.Message => DrcShape.Message,
                EventKind.Notice or EventKind.Correction or EventKind.Retraction or EventKind.SubjectChanged or EventKind.Invitation
                    or EventKind.InvitationDeclined or EventKind.FileOffered or EventKind.FileTransferAccepted or EventKind.FileTransferEnded
                    or EventKind.FileShared or EventKind.CallInitiated or EventKind.CallAccepted or EventKind.CallEnded or EventKind.Encrypted
                    or EventKind.Unclassified or EventKind.Refused or EventKind.Reaction or EventKind.OverLimit => DrcShape.SystemEvent,
            };
            switch (shape)
            {
                case DrcShape.Enter:
                    Enter(login, e.Nick, e.ReceivedUtc);
                    break;
                case DrcShape.Leave:
                    Leave(login, e.Nick, e.ReceivedUtc);
                    break;
                case DrcShape.Message:
                    // Someone who was already in the room before any logged user saw them join.
                    Enter(login, e.Nick, e.ReceivedUtc);
                    conversation.Add(new XElement("Message",
                        new XElement("LoginName", Clean(login)),
                        new XElement("UserName", Clean(e.Nick ?? login)),
                        Time("DateTimeUTC", e.ReceivedUtc),
                        new XElement("Content", Clean(Text(e)))));
                    break;
                case DrcShape.SystemEvent:
                    conversation.Add(new XElement("SystemEvent",
                        new XElement("Kind", e.Kind.ToString()),
                        new XElement("LoginName", Clean(login)),
                        Time("DateTimeUTC", e.ReceivedUtc),
                        new XElement("Content", Clean(e.Kind == EventKind.Notice ? TranscriptMessageBuilder.RenderLine(e, index) : TranscriptMessageBuilder.RenderLine(e)))));
                    break;
            }
        }
        // Whoever is still there leaves when the transcript closes (ordinal order: the same transcript renders the same bytes).
        foreach (var login in present.Order(StringComparer.Ordinal).ToList()) Leave(login, null, transcript.ClosedUtc);
        conversation.Add(Time("EndTimeUTC", transcript.ClosedUtc));

        var document = new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("FileDump", conversation));
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, NewLineChars = "\n" }))
            document.Save(writer);
        return buffer.ToArray();
    }

    /// <summary>The login a participant is archived under: the real bare JID when known, else the occupant JID (room/nick).</summary>
    private static string Login(ConversationEvent e)
    {
        if (!string.IsNullOrEmpty(e.SenderBareJid)) return e.SenderBareJid;
        if (e.Kind == EventKind.Notice) return "system";
        return e.From;
    }

    private static string RoomId(Transcript t) => t.ConversationType == ConversationType.GroupChat ? t.ConversationKey : "chat:" + t.ConversationKey.Replace(' ', ',');

    private static string Text(ConversationEvent e) =>
        TranscriptMessageBuilder.BodyText(!string.IsNullOrEmpty(e.Text) ? e.Text : e.Html is { Length: > 0 } html ? TranscriptMessageBuilder.HtmlToText(html) : "");

    private static IEnumerable<XElement> Time(string name, DateTimeOffset at)
    {
        yield return new XElement(name, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        yield return new XElement(name + "ISO", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
    }

    /// <summary>Replaces characters XML 1.0 cannot carry (they would make the writer throw).</summary>
    private static string Clean(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        if (XmlConvert.VerifyXmlChars(text) is null) return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
            }
            else sb.Append(XmlConvert.IsXmlChar(c) ? c : '\uFFFD');
        }
        return sb.ToString();
    }
}

/// <summary>What a DRC-CM conversation file records for an event.</summary>
internal enum DrcShape
{
    Enter,
    Leave,
    Message,
    SystemEvent,
}

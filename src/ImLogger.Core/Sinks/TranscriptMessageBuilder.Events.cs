using System.Globalization;
using System.Text;
using ImLogger.Conversations;

namespace ImLogger.Sinks;

/// <summary>How the events other than messages, joins and leaves read in a transcript (the table in docs/events.md).</summary>
public sealed partial class TranscriptMessageBuilder
{
    /// <summary>Raw XML of an unrecognised stanza shown in a transcript before it is cut (the spool keeps it whole).</summary>
    public const int MaxRawXmlShown = 4000;

    /// <summary>A transcript's messages (and corrections, which can be retracted too) by every id a later correction or
    /// retraction may name (id, origin-id, stanza-id); the first message with an id wins.</summary>
    internal sealed partial class MessageIndex
    {
        private readonly Dictionary<string, ConversationEvent> _byId = new(StringComparer.Ordinal);

        /// <summary>No transcript to look in (a single line rendered on its own): the original is named by id only.</summary>
        public static readonly MessageIndex Empty = new([]) { Searchable = false };

        /// <summary>False for <see cref="Empty"/>: a miss then says nothing about the transcript.</summary>
        public bool Searchable { get; private init; } = true;

        public MessageIndex(IEnumerable<ConversationEvent> events)
        {
            foreach (var e in events.Where(e => e.Kind is EventKind.Message or EventKind.Encrypted or EventKind.Correction))
                foreach (var id in new[] { e.StanzaId, e.OriginId, e.ServerStanzaId })
                    if (!string.IsNullOrEmpty(id)) _byId.TryAdd(id, e);
            var all = events as IReadOnlyCollection<ConversationEvent> ?? events.ToList();
            IndexNotices(all); // TranscriptMessageBuilder.Notices.cs
            IndexBounces(all); // TranscriptMessageBuilder.Bounces.cs
        }

        public ConversationEvent? Find(string? id) => id != null && _byId.TryGetValue(id, out var e) ? e : null;
    }

    /// <summary>"PC-to-PC call", "video call", ...: what a compliance reader calls each kind of session.</summary>
    internal static string SessionName(CallMedia? media) => media switch
    {
        CallMedia.Audio => "PC-to-PC (audio) call",
        CallMedia.Video => "video call",
        CallMedia.DesktopShare => "desktop share",
        CallMedia.Phone => "phone call",
        CallMedia.AudioConference => "audio conference",
        CallMedia.Meeting => "meeting",
        null => "call", // no discard arm: a new CallMedia fails the build until it has its name

    };

    /// <summary>"12 min 4 s", "1 h 0 min 3 s", "4 s".</summary>
    internal static string DurationText(TimeSpan d)
    {
        var total = (long)Math.Round(d.TotalSeconds, MidpointRounding.AwayFromZero);
        var (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
        return h > 0 ? $"{h} h {m} min {s} s" : m > 0 ? $"{m} min {s} s" : $"{s} s";
    }

    /// <summary>"48,213 bytes" or "47.1 KB (48,213 bytes)".</summary>
    internal static string SizeText(long bytes)
    {
        var exact = bytes.ToString("N0", CultureInfo.InvariantCulture) + (bytes == 1 ? " byte" : " bytes");
        if (bytes < 1024) return exact;
        string[] units = ["KB", "MB", "GB", "TB"];
        double value = bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit] + " (" + exact + ")";
    }

    /// <summary>"report.pdf (47.1 KB (48,213 bytes), application/pdf)", from whatever the event knows.</summary>
    private static string FileText(ConversationEvent e)
    {
        var details = new List<string>();
        if (e.FileSize is { } size) details.Add(SizeText(size));
        if (!string.IsNullOrEmpty(e.FileMediaType)) details.Add(Line(e.FileMediaType));
        var name = string.IsNullOrEmpty(e.FileName) ? "a file" : "\"" + Line(e.FileName) + "\"";
        return details.Count == 0 ? name : $"{name} ({string.Join(", ", details)})";
    }

    private static string Quoted(string? text, int max = 200) =>
        string.IsNullOrEmpty(text) ? "" : "\"" + HeaderValue(BodyText(text), max) + "\"";

    /// <summary>Who did it: the occupant in rooms, the full JID elsewhere.</summary>
    private static string Actor(ConversationEvent e) => Sender(e);

    /// <summary>The other party of a one-to-one event (bare JID), or null in rooms.</summary>
    private static string? Counterpart(ConversationEvent e) =>
        e.ConversationType == ConversationType.OneToOne ? Line(Bare(e.To)) : null;

    /// <summary>
    /// The sentence for a system event, without time and without the leading "* " (null for messages, joins,
    /// leaves and notices, which render as before). Plain text: the HTML part encodes it.
    /// </summary>
    internal static string? EventSentence(ConversationEvent e, MessageIndex index)
    {
        var actor = Actor(e);
        var with = Counterpart(e) is { } c ? " with " + c : "";
        // Every kind is named and there is no discard arm: a kind added to EventKind fails the build (CS8509) until it is
        // given its sentence here and its shape in ShapeOf, so it can never render as an empty "* bob ".
        return e.Kind switch
        {
            EventKind.Correction => $"{actor} corrected {Original(e, index)} to: {Indent(MessageText(e))}",
            EventKind.Retraction => $"{actor} retracted {Original(e, index)}" + (string.IsNullOrEmpty(e.Reason) ? "" : $" ({Line(e.Reason)})") + "; the original stays archived",
            EventKind.Reaction => string.IsNullOrWhiteSpace(e.Text)
                ? $"{actor} withdrew their reactions to {Original(e, index)}"
                : $"{actor} reacted {Line(e.Text)} to {Original(e, index)}",
            EventKind.SubjectChanged => e.ConversationType == ConversationType.GroupChat && Resource(e.From) == null && Bare(e.From) == e.ConversationKey
                ? $"the room's subject is: {Indent(BodyText(e.Text))}"
                : $"{actor} set the room's subject to: {Indent(BodyText(e.Text))}",
            EventKind.Invitation => $"{Line(e.Inviter ?? Bare(e.From))} invited {Line(e.Invitee ?? Bare(e.To))} to the group chat {Line(e.Room)}"
                                    + (string.IsNullOrEmpty(e.Reason) ? "" : ": " + Quoted(e.Reason)),
            EventKind.InvitationDeclined => $"{Line(e.Invitee ?? Bare(e.From))} declined the invitation of {Line(e.Inviter ?? Bare(e.To))} to the group chat {Line(e.Room ?? e.ConversationKey)}"
                                            + (string.IsNullOrEmpty(e.Reason) ? "" : ": " + Quoted(e.Reason)),
            EventKind.FileOffered => $"{actor} offered {FileText(e)}" + (Counterpart(e) is { } to ? " to " + to : "") + SessionSuffix(e),
            EventKind.FileTransferAccepted => $"{actor} accepted the transfer of {FileText(e)}" + SessionSuffix(e),
            EventKind.FileTransferEnded => $"{actor} ended the transfer of {FileText(e)}" + EndSuffix(e) + SessionSuffix(e),
            EventKind.FileShared => $"{actor} shared {FileText(e)}" + with + (string.IsNullOrEmpty(e.Url) ? "" : " <" + Line(e.Url) + ">")
                                    + (string.IsNullOrEmpty(e.Text) ? "" : ": " + Quoted(e.Text, 1000)),
            EventKind.CallInitiated => CallStarted(e, actor, with),
            EventKind.CallAccepted => $"{actor} accepted the {SessionName(e.CallMedia)}" + SessionSuffix(e),
            EventKind.CallEnded => $"{actor} ended the {SessionName(e.CallMedia)}" + EndSuffix(e) + SessionSuffix(e),
            EventKind.Refused => $"REFUSED, not delivered: {actor}" + (Counterpart(e) is { } target ? " -> " + target : "")
                                 + (string.IsNullOrEmpty(e.Text) ? "" : ": " + Quoted(e.Text, 1000))
                                 + (RefusalRules.Describe(e.Rule, e.Reason) is { Length: > 0 } why ? " (" + Line(why) + ")" : ""),
            EventKind.OverLimit => $"{actor}" + (Counterpart(e) is { } o ? " -> " + o : "") + " sent a stanza over ImLogger's limits; it was delivered, but only its beginning is archived"
                                   + (string.IsNullOrEmpty(e.Reason) ? "" : " (" + Line(e.Reason) + ")")
                                   + (string.IsNullOrEmpty(e.Text) ? "" : "; its text begins: " + Quoted(e.Text, 1024)),
            EventKind.Unclassified => $"{actor}" + (Counterpart(e) is { } u ? " -> " + u : "") + UnclassifiedSentence(e) + ", kept as raw XML: " + RawXmlShown(e),
            // Rendered in their own shape (ShapeOf): a message line, the encrypted line, a notice, a presence line.
            EventKind.Message or EventKind.Encrypted or EventKind.Notice or EventKind.Joined or EventKind.Left or EventKind.Present => null,
        };
    }

    /// <summary>How each kind of event is laid out in a transcript: every kind is named (no discard arm), so a new kind
    /// fails the build until someone decides how it renders.</summary>
    internal static EventShape ShapeOf(EventKind kind) => kind switch
    {
        EventKind.Message => EventShape.Message,
        EventKind.Encrypted => EventShape.Encrypted,
        EventKind.Notice => EventShape.Notice,
        EventKind.Joined or EventKind.Left or EventKind.Present => EventShape.Presence,
        EventKind.Correction or EventKind.Retraction or EventKind.Reaction or EventKind.SubjectChanged or EventKind.Invitation
            or EventKind.InvitationDeclined or EventKind.FileOffered or EventKind.FileTransferAccepted or EventKind.FileTransferEnded
            or EventKind.FileShared or EventKind.CallInitiated or EventKind.CallAccepted or EventKind.CallEnded or EventKind.Refused
            or EventKind.OverLimit or EventKind.Unclassified => EventShape.Sentence,
    };

    private static string CallStarted(ConversationEvent e, string actor, string with)
    {
        var session = SessionName(e.CallMedia);
        return $"{actor} started {(session.StartsWith('a') ? "an" : "a")} {session}" + with
               + (string.IsNullOrEmpty(e.Room) ? "" : " in " + Line(e.Room))
               + (string.IsNullOrEmpty(e.Url) ? "" : " at <" + Line(e.Url) + ">")
               + (e.Invitee != null && e.Invitee != Counterpart(e) ? ", inviting " + Line(e.Invitee) : "")
               + (string.IsNullOrEmpty(e.Reason) ? "" : ": " + Quoted(e.Reason)) + SessionSuffix(e);
    }

    /// <summary>"message msg-1 \"its text\"", or where the original is not in the transcript (an earlier one), says so.</summary>
    private static string Original(ConversationEvent e, MessageIndex index) =>
        index.Find(e.RelatedId) is { } original ? $"message {Line(e.RelatedId)} {Quoted(MessageText(original))}"
        : index.Searchable ? $"message {Line(e.RelatedId)} (not in this transcript)"
        : $"message {Line(e.RelatedId)}";

    private static string SessionSuffix(ConversationEvent e) => string.IsNullOrEmpty(e.SessionId) ? "" : $" [session {Line(e.SessionId)}]";

    /// <summary>" (success) after 12 min 4 s", " (rejected), never answered".</summary>
    private static string EndSuffix(ConversationEvent e)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(e.Reason)) sb.Append(" (").Append(Line(e.Reason)).Append(')');
        sb.Append(e.Duration is { } d ? " after " + DurationText(d) : ", no duration (its acceptance was not seen)");
        return sb.ToString();
    }

    private static string RawXmlShown(ConversationEvent e)
    {
        var raw = BodyText(e.RawXml).Replace('\n', ' ');
        return raw.Length <= MaxRawXmlShown ? raw : raw[..MaxRawXmlShown] + "… (cut; the spool keeps it whole)";
    }

    /// <summary>Encrypted payloads say what they are and never pass off the fallback body as what was said.</summary>
    private static string EncryptedText(ConversationEvent e) =>
        string.IsNullOrEmpty(e.Reason)
            ? $"[end-to-end encrypted message ({Line(e.EncryptionScheme)}); the archive cannot read its content]"
            : $"[end-to-end encryption ({Line(e.EncryptionScheme)}): {Line(e.Reason)}]";
}

/// <summary>How an event is laid out in a transcript (<see cref="TranscriptMessageBuilder.ShapeOf"/>).</summary>
internal enum EventShape
{
    /// <summary>"sender -> recipient: text".</summary>
    Message,

    /// <summary>"sender -> recipient: (encrypted ...)".</summary>
    Encrypted,

    /// <summary>"[notice to ...] text".</summary>
    Notice,

    /// <summary>"* occupant joined/left/was in the room".</summary>
    Presence,

    /// <summary>"* " and the event's sentence (<see cref="TranscriptMessageBuilder.EventSentence"/>).</summary>
    Sentence,
}

namespace ImLogger.Domain;

/// <summary>What a <see cref="ConversationEvent"/> records.</summary>
public enum EventKind
{
    /// <summary>A text message (chat, groupchat, normal, headline), with its XHTML-IM alternative when sent.</summary>
    Message,
    /// <summary>An occupant joined a group chat while a logged user was in it (or the logged user's own join).</summary>
    Joined,
    /// <summary>An occupant left a group chat (or was kicked/banned: see <see cref="ConversationEvent.StatusCodes"/>).</summary>
    Left,
    /// <summary>An occupant who was already in the room when the logged user joined.</summary>
    Present,
    /// <summary>A notice the component itself sent (archive notification); recorded, never re-archived from the copy.</summary>
    Notice,
    /// <summary>A correction (XEP-0308) of an earlier message, see <see cref="ConversationEvent.RelatedId"/>; the original stays archived.</summary>
    Correction,
    /// <summary>A retraction (XEP-0424) of an earlier message, see <see cref="ConversationEvent.RelatedId"/>; the original stays archived.</summary>
    Retraction,
    /// <summary>A group chat subject change; <see cref="ConversationEvent.Text"/> is the new subject.</summary>
    SubjectChanged,
    /// <summary>An invitation to a group chat (XEP-0249 direct or XEP-0045 mediated): <see cref="ConversationEvent.Room"/>,
    /// <see cref="ConversationEvent.Inviter"/>, <see cref="ConversationEvent.Invitee"/>, <see cref="ConversationEvent.Reason"/>.</summary>
    Invitation,
    /// <summary>A declined XEP-0045 mediated invitation.</summary>
    InvitationDeclined,
    /// <summary>A file offered for transfer (XEP-0096 SI offer, XEP-0234 Jingle session-initiate), with name and size.</summary>
    FileOffered,
    /// <summary>The receiver accepted a file transfer (SI result, Jingle session-accept).</summary>
    FileTransferAccepted,
    /// <summary>A file transfer ended: completed, rejected or failed (<see cref="ConversationEvent.Reason"/>), with its duration when the start was seen.</summary>
    FileTransferEnded,
    /// <summary>A file shared as a link (XEP-0066 OOB after an XEP-0363 upload, with XEP-0446 metadata when present).</summary>
    FileShared,
    /// <summary>A call, desktop share, conference or meeting was started or proposed (Jingle session-initiate, XEP-0353 propose,
    /// a meeting invitation); <see cref="ConversationEvent.CallMedia"/> says which.</summary>
    CallInitiated,
    /// <summary>The callee accepted (Jingle session-accept, XEP-0353 proceed/accept).</summary>
    CallAccepted,
    /// <summary>A call ended, was rejected or withdrawn (Jingle session-terminate, XEP-0353 reject/retract/finish),
    /// with <see cref="ConversationEvent.Duration"/> when the acceptance was seen.</summary>
    CallEnded,
    /// <summary>An end-to-end encrypted payload (<see cref="ConversationEvent.EncryptionScheme"/>); the archive cannot read it.</summary>
    Encrypted,
    /// <summary>A stanza of a logged user the classifier has no rule for, kept as raw XML so that nothing is dropped silently.</summary>
    Unclassified,
    /// <summary>A stanza the policy refused in inline mode (it was not delivered): <see cref="ConversationEvent.Rule"/> is the
    /// rule that refused it, <see cref="ConversationEvent.Reason"/> the explanation, <see cref="ConversationEvent.Text"/>
    /// what was attempted.</summary>
    Refused,
    /// <summary>Emoji reactions (XEP-0444) to an earlier message (<see cref="ConversationEvent.RelatedId"/>); <see cref="ConversationEvent.Text"/>
    /// is the sender's whole current set, space-separated, empty when they withdrew them all.</summary>
    Reaction,
    /// <summary>Tap mode: a stanza over a per-stanza limit (max-stanza-bytes, or nested deeper than 128 elements), which
    /// the server delivered but the archive could not read whole: <see cref="ConversationEvent.Reason"/> says what it was
    /// (kind, size, depth, which limit), <see cref="ConversationEvent.Text"/> holds the first kilobyte of its text.</summary>
    OverLimit,
}

/// <summary>What kind of real-time session a call event is about.</summary>
public enum CallMedia
{
    /// <summary>Audio only between two parties (PC-to-PC call).</summary>
    Audio,
    /// <summary>With video.</summary>
    Video,
    /// <summary>A screen or desktop content.</summary>
    DesktopShare,
    /// <summary>To or from a telephony gateway, or a tel:/sip: address.</summary>
    Phone,
    /// <summary>A multi-party audio session.</summary>
    AudioConference,
    /// <summary>A multi-party session with video, or an invitation to a meeting service.</summary>
    Meeting,
}

/// <summary>Which way the stanza travelled, seen from the logged user(s) involved.</summary>
public enum Direction
{
    /// <summary>Sent by a logged user.</summary>
    Outgoing,
    /// <summary>Received by a logged user.</summary>
    Incoming,
    /// <summary>Sent by one logged user to another.</summary>
    Both,
}

/// <summary>One-to-one or group chat; the conversation key's meaning depends on it.</summary>
public enum ConversationType
{
    /// <summary>Two parties; the key is the sorted pair of bare JIDs.</summary>
    OneToOne,
    /// <summary>A multi-user chat room; the key is the room's bare JID.</summary>
    GroupChat,
}

/// <summary>
/// One thing that happened in a logged conversation, as the classifier understood it.
/// Immutable once classified: the spool stores it as is and the transcript shows it as is.
/// </summary>
public sealed record ConversationEvent
{
    /// <summary>Stable identifier (a GUID in "N" format), assigned when the event is classified.</summary>
    public required string Id { get; init; }

    /// <summary>When the component received the copy (UTC). The server's copy carries no timestamp.</summary>
    public required DateTimeOffset ReceivedUtc { get; init; }

    public required EventKind Kind { get; init; }

    public required Direction Direction { get; init; }

    public required ConversationType ConversationType { get; init; }

    /// <summary>The pair of bare JIDs ("a@x b@y", sorted, space-separated) or the room's bare JID.</summary>
    public required string ConversationKey { get; init; }

    /// <summary>Full JID the stanza came from (for group chat, the occupant JID room@service/nick or the sender's own JID).</summary>
    public required string From { get; init; }

    /// <summary>Full (or bare) JID the stanza was addressed to.</summary>
    public required string To { get; init; }

    /// <summary>The sender's real bare JID where known (the sender itself in one-to-one; the occupant's real JID in
    /// non-anonymous rooms, and in semi-anonymous ones where the server's MUC module told it, see <see cref="RealJidHidden"/>).</summary>
    public string? SenderBareJid { get; init; }

    /// <summary>Group chat: <see cref="SenderBareJid"/> came from the server's MUC module while the room hides it from
    /// its occupants (a semi-anonymous room). The archive shows it; notices reach that occupant through the room, by
    /// nickname, never at the real JID. Not stored in the spool: only the notifier reads it, as the event is classified.</summary>
    public bool RealJidHidden { get; init; }

    /// <summary>Group chat nickname of the sender or of the occupant who joined or left.</summary>
    public string? Nick { get; init; }

    /// <summary>What the sender calls themselves: the XEP-0172 user nickname (<c>&lt;nick xmlns="http://jabber.org/protocol/nick"/&gt;</c>)
    /// their own stanza carried (a message, a subscription request, a room join), trimmed, at most 256 characters; null when
    /// the stanza carried none, an empty one, or was not the sender's own (an error echoing someone else's stanza). It names
    /// <see cref="SenderBareJid"/> only, never anyone else; unlike <see cref="Nick"/> (a room's handle) it is the person's
    /// own claim and is not checked by anyone: transcripts show it as a display name beside the JID, never instead of it.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Plain text: the message body, with emoticon text for XHTML-IM images where the body lacks it.</summary>
    public string? Text { get; init; }

    /// <summary>The XHTML-IM body as received (XML text), when the message carried one.</summary>
    public string? Html { get; init; }

    /// <summary>The stanza's id attribute, if any.</summary>
    public string? StanzaId { get; init; }

    /// <summary>The message type attribute (chat, groupchat, normal, headline) or presence type.</summary>
    public string? StanzaType { get; init; }

    /// <summary>XEP-0045 status codes carried by a group chat presence (110 self, 307 kicked, 301 banned, ...).</summary>
    public IReadOnlyList<int> StatusCodes { get; init; } = [];

    /// <summary>Bare JIDs of the logged users this event belongs to (whose transcripts must contain it).</summary>
    public required IReadOnlyList<string> LoggedUsers { get; init; }

    /// <summary>The original stanza (jabber:client), as received inside the forwarded copy.</summary>
    public required string RawXml { get; init; }

    /// <summary>The message's XEP-0359 origin-id (set by the sender's client, the same in every copy).</summary>
    public string? OriginId { get; init; }

    /// <summary>The first XEP-0359 stanza-id a server stamped on the message (by="..."), if any.</summary>
    public string? ServerStanzaId { get; init; }

    /// <summary>Correction, retraction: the id the client used to name the original message (its id, origin-id or stanza-id).</summary>
    public string? RelatedId { get; init; }

    /// <summary>Invitations: the room's bare JID.</summary>
    public string? Room { get; init; }

    /// <summary>Invitations: who invited (bare JID).</summary>
    public string? Inviter { get; init; }

    /// <summary>Invitations: who was invited, or whose invitation was declined (bare JID).</summary>
    public string? Invitee { get; init; }

    /// <summary>Invitation reason, decline reason, the end reason of a call or transfer (Jingle reason, "retracted", ...);
    /// for a refusal, the explanation of <see cref="Rule"/> (transcripts show both as "rule: explanation",
    /// <see cref="RefusalRules.Describe"/>).</summary>
    public string? Reason { get; init; }

    /// <summary>Refusals (<see cref="EventKind.Refused"/>): the rule that refused the stanza or sign-in; null for every other kind.</summary>
    public RefusalRule? Rule { get; init; }

    /// <summary>File events: the file's name.</summary>
    public string? FileName { get; init; }

    /// <summary>File events: the size in bytes, when stated.</summary>
    public long? FileSize { get; init; }

    /// <summary>File events: the media type, when stated.</summary>
    public string? FileMediaType { get; init; }

    /// <summary>Shared files: the link.</summary>
    public string? Url { get; init; }

    /// <summary>Calls and transfers: the session id (Jingle sid, XEP-0353 id, SI id) that ties start and end together.</summary>
    public string? SessionId { get; init; }

    /// <summary>Call events: what kind of session.</summary>
    public CallMedia? CallMedia { get; init; }

    /// <summary>End events: how long the session lasted, from its acceptance, when the component saw both.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Encrypted events: the scheme, a fixed name per namespace (see ImLogger.Classifier.EncryptionScan in ImLogger.Core).</summary>
    public string? EncryptionScheme { get; init; }

    /// <summary>Room history a group chat replayed to a logged user on join (XEP-0045 §7.2.15): when it was originally
    /// said, as the room stamped it; null for everything live. <see cref="ReceivedUtc"/> stays when the copy was seen.</summary>
    public DateTimeOffset? HistorySaidUtc { get; init; }
}

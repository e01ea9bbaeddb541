namespace ImLogger.Conversations;

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

    /// <summary>The sender's real bare JID where known (the sender itself in one-to-one; the occupant's real JID in non-anonymous rooms).</summary>
    public string? SenderBareJid { get; init; }

    /// <summary>Group chat nickname of the sender or of the occupant who joined or left.</summary>
    public string? Nick { get; init; }

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
}

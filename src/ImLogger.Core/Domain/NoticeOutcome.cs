namespace ImLogger.Domain;

/// <summary>
/// What a transcript says about an archive notice (<see cref="EventKind.Notice"/>), in
/// <see cref="ConversationEvent.Reason"/>: the notice event itself says <see cref="Decided"/> (stored before the send),
/// and outcome events (<see cref="ConversationEvent.RelatedId"/> = the notice event's id, <see cref="ConversationEvent.To"/>
/// = the recipients concerned) say <see cref="Sent"/>, "not sent: reason" or "bounced: condition". A notice with no
/// reason at all was stored before outcomes were recorded (older spools) and reads as it always did.
/// </summary>
public static class NoticeOutcome
{
    /// <summary>The notice event: decided and about to be sent; its outcome events follow.</summary>
    public const string Decided = "decided";

    /// <summary>Written to the component connection (the server accepted it for delivery).</summary>
    public const string Sent = "sent";

    /// <summary>Prefix of "not sent: not connected to the server" and the like.</summary>
    public const string NotSentPrefix = "not sent: ";

    /// <summary>Prefix of "bounced: cancel/item-not-found": the server sent back an error for the notice's id.</summary>
    public const string BouncedPrefix = "bounced: ";

    /// <summary>Whether <paramref name="e"/> is an outcome event (rather than a notice).</summary>
    public static bool IsOutcome(ConversationEvent e) => e.Kind == EventKind.Notice && e.RelatedId != null && e.Reason != null;

    /// <summary>One short line of printable text (no control characters, at most 200 characters), also when a hostile server
    /// wrote it: no format characters either (a right-to-left override would make the rest of the transcript's line read
    /// backwards; zero-width ones hide text).</summary>
    public static string Safe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chars = text.Where(c => !char.IsControl(c) && c is not ('\u2028' or '\u2029')
            && char.GetUnicodeCategory(c) is not (System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.Surrogate))
            .Take(200).ToArray();
        return new string(chars);
    }
}

namespace ImLogger.Domain;

/// <summary>How the transcript records a stanza the server sent back with an error (a bounce).</summary>
public static class Bounce
{
    /// <summary>Prefix of the error event's <see cref="ConversationEvent.Reason"/> ("bounced: cancel/item-not-found");
    /// the same prefix marks a bounced notice's outcome (<see cref="NoticeOutcome.BouncedPrefix"/>).</summary>
    public const string ReasonPrefix = NoticeOutcome.BouncedPrefix;
}

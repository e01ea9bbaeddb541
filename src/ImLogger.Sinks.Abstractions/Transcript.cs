namespace ImLogger.Domain;

/// <summary>
/// A closed conversation, ready for an archive endpoint: its events in order of receipt.
/// </summary>
/// <remarks>
/// <see cref="Id"/> is stable for the life of the transcript in the spool, so a redelivery after a
/// crash produces the same file name or Message-ID at the endpoint, never a second distinct copy.
/// </remarks>
public sealed record Transcript
{
    /// <summary>Stable identifier (GUID "N" format).</summary>
    public required string Id { get; init; }

    public required ConversationType ConversationType { get; init; }

    /// <summary>See <see cref="ConversationEvent.ConversationKey"/>.</summary>
    public required string ConversationKey { get; init; }

    /// <summary>When the first event was received (UTC).</summary>
    public required DateTimeOffset OpenedUtc { get; init; }

    /// <summary>When the transcript was closed (idle timeout or shutdown), UTC.</summary>
    public required DateTimeOffset ClosedUtc { get; init; }

    /// <summary>The time zone of the logged users' organization, set at delivery (not stored), so the transcript shows
    /// local times beside UTC; null when none is configured or the logged users' organizations disagree.</summary>
    public TimeZoneInfo? LocalTimeZone { get; init; }

    /// <summary>Events in the order they were received.</summary>
    public required IReadOnlyList<ConversationEvent> Events { get; init; }

    /// <summary>Bare JIDs of everyone who took part (senders, recipients, occupants), sorted.</summary>
    /// <remarks>Notices are left out: they come from the component and name their recipients as a list, and
    /// every recipient is a participant through the conversation's own events anyway.</remarks>
    public IReadOnlyList<string> Participants =>
        Events.Where(e => e.Kind != EventKind.Notice)
              .SelectMany(e => new[] { e.SenderBareJid, Bare(e.From), Bare(e.To) })
              .Where(j => !string.IsNullOrEmpty(j))
              .Select(j => j!)
              .Where(j => ConversationType == ConversationType.OneToOne || j != ConversationKey)
              .Distinct(StringComparer.Ordinal)
              .Order(StringComparer.Ordinal)
              .ToList();

    /// <summary>Bare JIDs of the logged users whose events are in this transcript, sorted.</summary>
    public IReadOnlyList<string> LoggedUsers =>
        Events.SelectMany(e => e.LoggedUsers).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    private static string? Bare(string jid)
    {
        var slash = jid.IndexOf('/');
        return slash < 0 ? jid : jid[..slash];
    }
}

using ImLogger.Conversations;

namespace ImLogger.Sinks;

/// <summary>
/// Gives each transcript its organization's time zone before an endpoint renders it, so the archive shows local
/// times beside UTC. The zone is not stored in the spool: a config change applies to transcripts not yet delivered.
/// </summary>
/// <remarks>Resumable when the endpoint is (a delivery in parts goes on where it stopped, through the decoration).</remarks>
public sealed class LocalTimeSink(ITranscriptSink inner, Func<Transcript, TimeZoneInfo?> zoneOf) : IResumableSink
{
    /// <inheritdoc />
    public string Name => inner.Name;

    /// <summary>The endpoint this decorates.</summary>
    public ITranscriptSink Inner => inner;

    /// <inheritdoc />
    public Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken) =>
        inner.DeliverAsync(transcript with { LocalTimeZone = zoneOf(transcript) }, cancellationToken);

    /// <inheritdoc />
    public Task<string> DeliverAsync(Transcript transcript, DeliveryProgress resume, Action<DeliveryProgress> accepted, CancellationToken cancellationToken) =>
        inner is IResumableSink resumable
            ? resumable.DeliverAsync(transcript with { LocalTimeZone = zoneOf(transcript) }, resume, accepted, cancellationToken)
            : DeliverAsync(transcript, cancellationToken);

    /// <summary>The zone of the transcript's logged users' organization, if they agree on one (several organizations
    /// with different zones: UTC only, rather than pick one).</summary>
    public static TimeZoneInfo? ZoneOf(Transcript transcript, Func<string, TimeZoneInfo?> zoneOfUser)
    {
        var zones = transcript.LoggedUsers.Select(zoneOfUser).Distinct().ToList();
        return zones.Count == 1 ? zones[0] : null;
    }
}

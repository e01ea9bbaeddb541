using ImLogger.Conversations;
using ImLogger.Spool;

namespace ImLogger.Tests.DeliveryTestSupport;

/// <summary>Closed transcripts written into a real spool, ready for delivery (dispatcher and clock tests).</summary>
internal static class SpooledTranscripts
{
    /// <summary>A closed one-to-one transcript of alice to bob, owed to <paramref name="endpoint"/>: one chat event per
    /// body, a second apart from <see cref="Events.T0"/>, closed five minutes after it.</summary>
    /// <returns>The transcript's id.</returns>
    public static string Closed(ISpool spool, string endpoint, params string[] bodies)
    {
        var header = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, [endpoint]);
        spool.Append(bodies.Select((body, i) =>
            new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", body, Events.T0.AddSeconds(i)))).ToList());
        spool.Close(header.Id, Events.T0.AddMinutes(5));
        return header.Id;
    }
}

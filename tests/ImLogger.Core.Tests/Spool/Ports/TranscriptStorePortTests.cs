using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;

namespace ImLogger.Tests.Spool.Ports;

/// <summary><see cref="ITranscriptStore"/> alone, on a real LiteDB file: transcripts opened, appended to in order, given
/// more endpoints, closed, listed while open and loaded with their events, across a restart.</summary>
[TestFixture]
public sealed class TranscriptStorePortTests : SpoolPortFixture
{
    [Test]
    public void EventsComeBackInOrderOfReceiptAfterARestart()
    {
        var store = Open<ITranscriptStore>();
        var header = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir", "mail", "dir"]);
        Assert.That(header.Deliveries.Select(d => d.Endpoint), Is.EqualTo(new[] { "dir", "mail" }), "each endpoint owed once");
        store.Append([new SpoolAppend(header.Id, Chat("one", T0)), new SpoolAppend(header.Id, Chat("two", T0.AddSeconds(1)))]);
        store.Append([new SpoolAppend(header.Id, Chat("three", T0.AddSeconds(2)))]);

        var reader = Reopen<ITranscriptReader>();
        var open = reader.OpenTranscripts().Single();
        Assert.That((open.Id, open.State, open.EventCount, open.LastEventUtc, open.ConversationKey),
            Is.EqualTo((header.Id, TranscriptState.Open, 3, T0.AddSeconds(2), Key)));
        var loaded = reader.Load(header.Id)!;
        Assert.That(loaded.Events.Select(e => e.Text), Is.EqualTo(new[] { "one", "two", "three" }));
        Assert.That(reader.Load("no-such-transcript"), Is.Null);
    }

    [Test]
    public void ClosingTakesATranscriptOutOfTheOpenOnesAndKeepsItsEvents()
    {
        var store = Open<ITranscriptStore>();
        var header = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        store.Append([new SpoolAppend(header.Id, Chat("hello", T0))]);
        store.Close(header.Id, T0.AddMinutes(10));
        store.Close(header.Id, T0.AddMinutes(20)); // closing again changes nothing

        Assert.That(store.OpenTranscripts(), Is.Empty);
        var loaded = Reopen<ITranscriptStore>().Load(header.Id)!;
        Assert.That((loaded.ClosedUtc, loaded.Events.Count), Is.EqualTo((T0.AddMinutes(10), 1)));
    }

    [Test]
    public void ATranscriptClosedWithoutEventsIsNotKept()
    {
        var store = Open<ITranscriptStore>();
        var header = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        store.Close(header.Id, T0.AddMinutes(1));
        Assert.That(store.Load(header.Id), Is.Null);
        Assert.That(store.OpenTranscripts(), Is.Empty);
    }

    [Test]
    public void AppendingToAClosedOrUnknownTranscriptIsRefusedAndTheWholeBatchWithIt()
    {
        var store = Open<ITranscriptStore>();
        var open = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        var closed = store.OpenTranscript(ConversationType.OneToOne, "carol@example.test dave@example.test", T0, ["dir"]);
        store.Append([new SpoolAppend(closed.Id, Chat("before", T0))]);
        store.Close(closed.Id, T0.AddMinutes(1));

        Assert.Throws<InvalidOperationException>(() => store.Append([new SpoolAppend(open.Id, Chat("kept?", T0)), new SpoolAppend(closed.Id, Chat("late", T0))]));
        Assert.Throws<InvalidOperationException>(() => store.Append([new SpoolAppend("no-such-transcript", Chat("lost", T0))]));
        Assert.Throws<InvalidOperationException>(() => store.Close("no-such-transcript", T0));

        Assert.That(store.Load(open.Id)!.Events, Is.Empty, "one durable transaction per append: nothing of a refused batch is kept");
        Assert.That(store.Load(closed.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "before" }));
    }

    [Test]
    public void AnEventAppendedTwiceIsStoredOnce()
    {
        var store = Open<ITranscriptStore>();
        var header = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        var hello = Chat("hello", T0);
        store.Append([new SpoolAppend(header.Id, hello)]);
        store.Append([new SpoolAppend(header.Id, hello), new SpoolAppend(header.Id, Chat("again", T0.AddSeconds(1)))]);
        Assert.That(store.Load(header.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "hello", "again" }));
    }

    [Test]
    public void EndpointsAddedToAnOpenTranscriptAreOwedItOnce()
    {
        var store = Open<ITranscriptStore>();
        var header = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        store.AddEndpoints(header.Id, ["mail", "dir", "mail"]);
        store.AddEndpoints(header.Id, []);
        Assert.That(Reopen<ITranscriptStore>().OpenTranscripts().Single().Deliveries.Select(d => (d.Endpoint, d.State)),
            Is.EqualTo(new[] { ("dir", DeliveryState.Pending), ("mail", DeliveryState.Pending) }));
    }

    [Test]
    public void EndpointsCannotBeAddedToAClosedTranscript()
    {
        var store = Open<ITranscriptStore>();
        var header = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        store.Append([new SpoolAppend(header.Id, Chat("hello", T0))]);
        store.Close(header.Id, T0.AddMinutes(1));
        Assert.Throws<InvalidOperationException>(() => store.AddEndpoints(header.Id, ["mail"]));
        Assert.Throws<ArgumentException>(() => store.AddEndpoints(header.Id, [" "]));
    }

    [Test]
    public void ATranscriptNeedsAnEndpointWithAName()
    {
        var store = Open<ITranscriptStore>();
        Assert.Throws<ArgumentException>(() => store.OpenTranscript(ConversationType.OneToOne, Key, T0, []));
        Assert.Throws<ArgumentException>(() => store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir", ""]));
        Assert.Throws<ArgumentException>(() => store.OpenTranscript(ConversationType.OneToOne, "", T0, ["dir"]));
        Assert.That(store.OpenTranscripts(), Is.Empty);
    }

    [Test]
    public void OneAppendMayCarryEventsOfSeveralTranscripts()
    {
        var store = Open<ITranscriptStore>();
        var chat = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        var room = store.OpenTranscript(ConversationType.GroupChat, "room@conference.example.test", T0, ["mail"]);
        store.Append([
            new SpoolAppend(chat.Id, Chat("to bob", T0)),
            new SpoolAppend(room.Id, Events.Room(EventKind.Message, "room@conference.example.test", "alice", "alice@example.test", T0.AddSeconds(1), "to the room")),
            new SpoolAppend(chat.Id, Chat("to bob again", T0.AddSeconds(2))),
        ]);
        Assert.That(store.Load(chat.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "to bob", "to bob again" }));
        Assert.That(store.Load(room.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "to the room" }));
        Assert.That(store.OpenTranscripts().Select(h => (h.Id, h.EventCount)), Is.EquivalentTo(new[] { (chat.Id, 2), (room.Id, 1) }));
    }
}

using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Classifier;

/// <summary>Replays a stream recorded from Debian's Prosody through decoding, classification and dedup.</summary>
public class RecordedSessionTests
{
    private static List<ConversationEvent> Replay(string recording, params string[] logged)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero));
        var decoder = new EnvelopeDecoder(["example.test"], "archive.example.test", time);
        var classifier = new StanzaClassifier(logged.Contains);
        var dedup = new CopyDeduplicator(TimeSpan.FromSeconds(60), time);
        var events = new List<ConversationEvent>();
        foreach (var stanza in Recordings.Stanzas(recording))
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            var (envelope, _, reason) = decoder.Decode(stanza);
            Assert.That(envelope, Is.Not.Null, reason);
            events.AddRange(classifier.Classify(envelope!).Events.Where(e => !dedup.IsRepeat(e)));
        }
        return events;
    }

    [Test]
    public void ChatAndGroupChatOfALoggedUserBecomeOneEventEach()
    {
        var events = Replay("prosody-tap-session.xml", "alice@example.test");

        Assert.That(events.Select(e => (e.Kind, e.ConversationKey, e.Nick ?? e.Text)), Is.EqualTo(new[]
        {
            (EventKind.Message, "alice@example.test bob@example.test", "hello bob"),
            (EventKind.Message, "alice@example.test bob@example.test", "hi alice"),
            (EventKind.Joined, "lobby@conference.example.test", "alice"),
            (EventKind.Joined, "lobby@conference.example.test", "bob"),
            (EventKind.Message, "lobby@conference.example.test", "alice"),
            (EventKind.Left, "lobby@conference.example.test", "bob"),
            (EventKind.Left, "lobby@conference.example.test", "alice"),
        }));
    }

    [Test]
    public void EventsCarryDirectionParticipantsAndHtml()
    {
        var events = Replay("prosody-tap-session.xml", "alice@example.test");
        var first = events[0];
        Assert.Multiple(() =>
        {
            Assert.That(first.Direction, Is.EqualTo(Direction.Outgoing));
            Assert.That(first.From, Is.EqualTo("alice@example.test/test"));
            Assert.That(first.To, Is.EqualTo("bob@example.test"));
            Assert.That(first.Html, Does.Contain("alt=\":-)\""));
            Assert.That(first.LoggedUsers, Is.EqualTo(new[] { "alice@example.test" }));
            Assert.That(events[1].Direction, Is.EqualTo(Direction.Incoming));
            Assert.That(events[1].SenderBareJid, Is.EqualTo("bob@example.test"));
            Assert.That(events[3].SenderBareJid, Is.EqualTo("bob@example.test"), "real JID from the non-anonymous room");
            Assert.That(events[4].Text, Is.EqualTo("hello room"));
            Assert.That(events[4].SenderBareJid, Is.EqualTo("alice@example.test"));
            Assert.That(events.Select(e => e.ReceivedUtc), Is.Ordered);
        });
    }

    [Test]
    public void NothingIsArchivedWhenNobodyIsLogged()
    {
        Assert.That(Replay("prosody-tap-session.xml"), Is.Empty);
    }
}

using ImLogger.Classifier;
using ImLogger.Conversations;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Classifier;

/// <summary>The small state behind durations and dedup: bounded, and keyed the way clients identify things.</summary>
public class SessionStateTests
{
    [Test]
    public void SessionMemoryIsBoundedOldestFirst()
    {
        var log = new SessionLog(maxSessions: 2);
        log.Start("a b", "s1", new SessionLog.Session { IsFileTransfer = true, OfferIqId = "iq1" });
        log.Start("a b", "s2", new SessionLog.Session { IsFileTransfer = false });
        log.Start("a b", "s3", new SessionLog.Session { IsFileTransfer = false });
        Assert.Multiple(() =>
        {
            Assert.That(log.Count, Is.EqualTo(2));
            Assert.That(log.Find("a b", "s1"), Is.Null, "the oldest is forgotten");
            Assert.That(log.FindByOfferIq("a b", "iq1"), Is.Null, "with its offer's iq id");
            Assert.That(log.Find("a b", "s3"), Is.Not.Null);
            Assert.That(log.Find("a c", "s3"), Is.Null, "a session id is only unique within its conversation");
        });
    }

    [Test]
    public void DurationCountsFromAcceptance()
    {
        var t0 = new DateTimeOffset(2026, 11, 25, 14, 0, 0, TimeSpan.Zero);
        var session = new SessionLog.Session { IsFileTransfer = false, InitiatedUtc = t0 };
        Assert.That(session.DurationUntil(t0.AddSeconds(30)), Is.Null, "never answered: no duration");
        session.AcceptedUtc = t0.AddSeconds(10);
        Assert.That(session.DurationUntil(t0.AddSeconds(30)), Is.EqualTo(TimeSpan.FromSeconds(20)));
    }

    [TestCase("+15551234567@cheogram.com", true)]
    [TestCase("bob@sip.example.test", true)]
    [TestCase("tel:+15551234567", true)]
    [TestCase("sip:bob@example.test", true)]
    [TestCase("bob@example.test", false)]
    [TestCase("bob@sipfoo.example.test", false)]
    public void DefaultTelephonyRule(string jid, bool phone) =>
        Assert.That(ClassifierOptions.Default.IsTelephony(jid), Is.EqualTo(phone));

    [Test]
    public void ConfiguredGatewaysAndMeetingServicesReplaceTheDefaultRule()
    {
        var options = new ClassifierOptions { TelephonyGateways = ["pbx.corp.example"], MeetingServices = ["rooms.corp.example"] };
        Assert.Multiple(() =>
        {
            Assert.That(options.IsTelephony("4711@pbx.corp.example"), Is.True);
            Assert.That(options.IsTelephony("bob@sip.example.test"), Is.False);
            Assert.That(options.IsMeetingService("standup@rooms.corp.example"), Is.True);
            Assert.That(options.IsMeetingService("standup@meet.example.test"), Is.False);
            Assert.That(ClassifierOptions.Default.IsMeetingService("standup@meet.example.test"), Is.True);
        });
    }

    [Test]
    public void CopiesWithTheSameOriginIdAreOneMessageWhateverTheirStanzaId()
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(1), new FakeTimeProvider());
        ConversationEvent Copy(string id) => new()
        {
            Id = Guid.NewGuid().ToString("N"), ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = EventKind.Message, Direction = Direction.Incoming,
            ConversationType = ConversationType.GroupChat, ConversationKey = "room@conference.example.test", From = "room@conference.example.test/bob",
            To = "alice@example.test/l", StanzaId = id, OriginId = "origin-1", Text = "hi", LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
        };
        Assert.That(dedup.IsRepeat(Copy("a")), Is.False);
        Assert.That(dedup.IsRepeat(Copy("rewritten-by-the-room")), Is.True);
    }

    [Test]
    public void ACopyMatchingAnyIdOfAnEarlierCopyIsARepeat()
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(1), new FakeTimeProvider());
        ConversationEvent Copy(string? id, string? serverId, string text = "hi") => new()
        {
            Id = Guid.NewGuid().ToString("N"), ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = EventKind.Message, Direction = Direction.Incoming,
            ConversationType = ConversationType.GroupChat, ConversationKey = "room@conference.example.test", From = "room@conference.example.test/bob",
            To = "alice@example.test/l", StanzaId = id, ServerStanzaId = serverId, Text = text, LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
        };
        Assert.That(dedup.IsRepeat(Copy("m1", null)), Is.False, "the sender's copy: no stanza-id yet");
        Assert.That(dedup.IsRepeat(Copy("m1", "room-archive-7")), Is.True, "the reflection, with the room's stanza-id");
        Assert.That(dedup.IsRepeat(Copy("rewritten", "room-archive-7")), Is.True, "a copy whose id was rewritten, matched by the stanza-id");
        Assert.That(dedup.IsRepeat(Copy("rewritten", "room-archive-7", "other text")), Is.False, "other content is another message");
    }

    [Test]
    public void SystemEventsAreDedupedByKindAndContent()
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(1), new FakeTimeProvider());
        ConversationEvent Call(EventKind kind) => new()
        {
            Id = Guid.NewGuid().ToString("N"), ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = kind, Direction = Direction.Both,
            ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test", From = "alice@example.test/l",
            To = "bob@example.test/p", StanzaId = "iq-1", SessionId = "s1", LoggedUsers = ["alice@example.test"], RawXml = "<iq/>",
        };
        Assert.That(dedup.IsRepeat(Call(EventKind.Unclassified)), Is.False);
        Assert.That(dedup.IsRepeat(Call(EventKind.Unclassified)), Is.True, "the second copy of one iq");
        Assert.That(dedup.IsRepeat(Call(EventKind.CallInitiated)), Is.False, "another kind is another event");
    }
}

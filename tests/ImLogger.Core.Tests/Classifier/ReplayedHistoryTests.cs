using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Policy;
using ImLogger.Sinks;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Classifier;

/// <summary>Live versus replayed (issue 13): a delay is history only when the room stamped it or when it arrives in the
/// join history; a delay a client wrote is the sender's claim, and the message is archived as live.</summary>
public class ReplayedHistoryTests
{
    private const string Room = "room@conference.example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);
    private StanzaClassifier _classifier = null!;

    [SetUp]
    public void NewClassifier() => _classifier = new StanzaClassifier("alice@example.test".Equals);

    private Classification See(string xml) => _classifier.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0));

    private const string SelfPresence = $"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/l'>"
                                        + "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>";

    private const string Subject = $"<message xmlns='jabber:client' from='{Room}' to='alice@example.test/l' type='groupchat'><subject>plans</subject></message>";

    private static string FromBob(string inner, string id = "m1") =>
        $"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='{id}'><body>sell everything</body>{inner}</message>";

    private void Joined()
    {
        See(SelfPresence);
        See(Subject);
    }

    [TestCase("<delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>")]
    [TestCase("<delay xmlns='urn:xmpp:delay' from='bob@example.test/p' stamp='2020-01-01T00:00:00Z'/>")]
    [TestCase("<delay xmlns='urn:xmpp:delay' from='conference.example.test' stamp='2020-01-01T00:00:00Z'/>")]
    [TestCase("<delay xmlns='urn:xmpp:delay' from='other@conference.example.test' stamp='2020-01-01T00:00:00Z'/>")]
    public void ADelayTheClientWroteIsLive(string delay)
    {
        Joined();
        var e = See(FromBob(delay)).Events.Single();
        Assert.That((e.Kind, e.Text, e.HistorySaidUtc), Is.EqualTo((EventKind.Message, "sell everything", (DateTimeOffset?)null)));
    }

    [Test]
    public void ADelayTheRoomStampedIsHistoryWithItsOriginalTime()
    {
        Joined();
        var e = See(FromBob($"<delay xmlns='urn:xmpp:delay' from='{Room}' stamp='2026-11-28T17:30:00Z'/>")).Events.Single();
        Assert.That(e.HistorySaidUtc, Is.EqualTo(new DateTimeOffset(2026, 11, 28, 17, 30, 0, TimeSpan.Zero)));
        Assert.That(e.Text, Is.EqualTo("sell everything"));
        Assert.That(TranscriptMessageBuilder.RenderLine(e), Does.Contain("(room history, originally sent 2026-11-28 17:30:00Z)"));
    }

    [Test]
    public void HistoryOnJoinIsArchivedAndTheSubjectEndsIt()
    {
        See(SelfPresence);
        // Between the self-presence and the subject: the join history, whoever stamped the delay.
        var replayed = See(FromBob("<delay xmlns='urn:xmpp:delay' stamp='2026-11-28T17:30:00Z'/>", "h1")).Events.Single();
        Assert.That(replayed.HistorySaidUtc, Is.Not.Null);
        See(Subject);
        var live = See(FromBob("<delay xmlns='urn:xmpp:delay' stamp='2026-11-28T17:30:00Z'/>", "h2")).Events.Single();
        Assert.That(live.HistorySaidUtc, Is.Null, "after the subject, a client's delay is a live message");
    }

    [Test]
    public void AStatusChangeIsNotAJoinAndOpensNoHistory()
    {
        Joined();
        See(SelfPresence.Replace("<x ", "<show>away</show><x ", StringComparison.Ordinal));
        Assert.That(See(FromBob("<delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>")).Events.Single().HistorySaidUtc, Is.Null);
    }

    [Test]
    public void EncryptedWithAClientDelayIsArchivedLiveAndRefusedInline()
    {
        Joined();
        var xml = $"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='x'><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>"
                  + "<encrypted xmlns='urn:xmpp:omemo:2'><payload>eA==</payload></encrypted></message>";
        var result = See(xml);
        Assert.That(result.Events.Single().Kind, Is.EqualTo(EventKind.Encrypted), result.Reason);
        var v = new CompliancePolicy(new RestrictionSettings()).Decide(new InlineItem("1", InlineDirection.In, "alice@example.test", true, XElement.Parse(xml)), result.Events);
        Assert.That(v.Rule?.Name(), Is.EqualTo("end-to-end-encryption"));
    }

    [Test]
    public void ARejoinReplaysHistoryAgainAsHistory()
    {
        Joined();
        See($"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/l' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/><status code='110'/></x></presence>");
        See(SelfPresence);
        Assert.That(See(FromBob("<delay xmlns='urn:xmpp:delay' stamp='2026-11-28T17:30:00Z'/>")).Events.Single().HistorySaidUtc, Is.Not.Null);
    }

    [Test]
    public void HistoryOfAMessageArchivedLiveIsKeptOnceAndHistoryNobodySawIsKept()
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(10), new FakeTimeProvider(T0));
        Joined();
        var live = See($"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='m7'><body>sell everything</body>"
                       + $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='s7'/></message>").Events.Single();
        Assert.That(dedup.IsRepeat(live), Is.False);
        See($"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/l' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/><status code='110'/></x></presence>");
        See(SelfPresence);
        var replayed = See($"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='m7'><body>sell everything</body>"
                           + $"<stanza-id xmlns='urn:xmpp:sid:0' by='{Room}' id='s7'/><delay xmlns='urn:xmpp:delay' from='{Room}' stamp='2026-11-29T08:59:00Z'/></message>").Events.Single();
        Assert.That(replayed.HistorySaidUtc, Is.Not.Null);
        Assert.That(dedup.IsRepeat(replayed), Is.True, "the same words, already archived live, are archived once");
        var unseen = See($"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='m6'><body>said before alice came</body>"
                         + $"<delay xmlns='urn:xmpp:delay' from='{Room}' stamp='2026-11-29T08:00:00Z'/></message>").Events.Single();
        Assert.That(dedup.IsRepeat(unseen), Is.False, "history no logged user saw live is archived");
        Assert.That(unseen.Text, Is.EqualTo("said before alice came"));
    }
}

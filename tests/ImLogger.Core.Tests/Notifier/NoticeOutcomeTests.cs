using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Notifier;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Notifier;

/// <summary>Notices are true (issue 17): a notice is recorded as decided, and what became of each stanza (sent, not sent
/// and why, bounced by the server) follows as outcome events pointing at it.</summary>
public class NoticeOutcomeTests
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@partner.test";
    private FakeTimeProvider _time = null!;
    private ArchiveNotifier _notifier = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        var alice = new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig(Alice, null)] };
        _notifier = new ArchiveNotifier(j => j == Alice ? alice : null, "archive.example.test", _time);
    }

    private ConversationEvent Chat(string text) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = _time.GetUtcNow(), Kind = EventKind.Message, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = $"{Alice} {Bob}", From = Alice + "/laptop", To = Bob,
        SenderBareJid = Alice, Text = text, LoggedUsers = [Alice], RawXml = "<x/>",
    };

    private (ConversationEvent Notice, IReadOnlyList<XElement> Stanzas) Notify(string text)
    {
        var (events, stanzas) = _notifier.Observe([Chat(text)]);
        return (events.Single(e => e.Kind == EventKind.Notice), stanzas);
    }

    private static XElement Bounce(string id, string from, string condition = "service-unavailable", string extra = "") => XElement.Parse(
        $"<message xmlns='jabber:component:accept' type='error' id='{id}' from='{from}' to='archive.example.test'>" +
        $"<error type='cancel'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>{extra}</error></message>");

    private static string Id(XElement stanza) => (string)stanza.Attribute("id")!;
    private static XElement To(IReadOnlyList<XElement> stanzas, string to) => stanzas.Single(s => (string?)s.Attribute("to") == to);

    [Test]
    public void TheNoticeSaysDecided_EachStanzaSentIsRecordedAfterwardsAsSent()
    {
        var (notice, stanzas) = Notify("hello");
        var outcomes = _notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        Assert.Multiple(() =>
        {
            Assert.That(notice.Reason, Is.EqualTo(NoticeOutcome.Decided), "not 'sent' before it went out");
            Assert.That(outcomes, Has.Count.EqualTo(1), "one outcome per notice and outcome, naming its recipients");
            Assert.That(outcomes[0].RelatedId, Is.EqualTo(notice.Id));
            Assert.That(outcomes[0].Reason, Is.EqualTo(NoticeOutcome.Sent));
            Assert.That(outcomes[0].To, Is.EqualTo($"{Alice}, {Bob}"));
            Assert.That(outcomes[0].ConversationKey, Is.EqualTo(notice.ConversationKey));
            Assert.That(outcomes[0].LoggedUsers, Is.EqualTo(new[] { Alice }), "in the logged user's transcript");
        });
    }

    [Test]
    public void ANoticeDecidedWhileTheConnectionIsDownIsRecordedNotSent_AndTheNextActivitySendsItAgain()
    {
        var (first, stanzas) = Notify("while down");
        var down = _notifier.Sent(stanzas.Select(s => (s, (string?)"not connected to the server")).ToList());
        Assert.That(down.Single().Reason, Is.EqualTo("not sent: not connected to the server"));
        Assert.That(down.Single().RelatedId, Is.EqualTo(first.Id));

        _time.Advance(TimeSpan.FromSeconds(30)); // well within the notice hour: only an untold participant is told again
        var (second, again) = Notify("connection back");
        var up = _notifier.Sent(again.Select(s => (s, (string?)null)).ToList());
        Assert.Multiple(() =>
        {
            Assert.That(again.Select(s => (string?)s.Attribute("to")), Is.EquivalentTo(new[] { Alice, Bob }), "told once it can go out");
            Assert.That(up.Single().RelatedId, Is.EqualTo(second.Id));
            Assert.That(up.Single().Reason, Is.EqualTo(NoticeOutcome.Sent));
        });
        Assert.That(_notifier.Observe([Chat("and again")]).Stanzas, Is.Empty, "told: not again within the hour");
    }

    [Test]
    public void ABounceFromTheRecipientWithTheNoticeIdMarksItBouncedWithTheServersCondition()
    {
        var (notice, stanzas) = Notify("hello");
        _notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        var bounce = _notifier.Bounced(Bounce(Id(To(stanzas, Bob)), Bob, "item-not-found",
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>&lt;b&gt;click here&lt;/b&gt;&#10;Injected: yes</text>"));
        Assert.Multiple(() =>
        {
            Assert.That(bounce, Is.Not.Null);
            Assert.That(bounce!.RelatedId, Is.EqualTo(notice.Id));
            Assert.That(bounce.Reason, Is.EqualTo("bounced: cancel/item-not-found"), "the condition, never the error's free text");
            Assert.That(bounce.To, Is.EqualTo(Bob));
            Assert.That(bounce.RawXml, Does.Contain("item-not-found"), "the server's answer is kept as evidence");
        });
        Assert.That(_notifier.Bounced(Bounce(Id(To(stanzas, Bob)), Bob)), Is.Null, "a second bounce of the same notice is not recorded twice");
        Assert.That(_notifier.Observe([Chat("bob again")]).Stanzas.Select(s => (string?)s.Attribute("to")), Is.EqualTo(new[] { Bob }),
            "a bounced participant was not told: the next activity tries again, the others are not told twice");
    }

    [Test]
    public void WhatIsNotABounceOfOurs_IsNotRecorded()
    {
        var (_, stanzas) = Notify("hello");
        _notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        var id = Id(To(stanzas, Bob));
        Assert.Multiple(() =>
        {
            Assert.That(_notifier.Bounced(Bounce(id, "mallory@partner.test")), Is.Null, "someone else claiming to bounce bob's notice");
            Assert.That(_notifier.Bounced(Bounce(id, Alice)), Is.Null, "the notice's id from another recipient");
            Assert.That(_notifier.Bounced(Bounce(id, Bob + "/phone")), Is.Null,
                "bob's own client answering with an error (the server stamps its full JID): he got it, the server did not bounce it");
            Assert.That(_notifier.Bounced(Bounce("imlogger-notice-" + Guid.NewGuid().ToString("N"), Bob)), Is.Null, "an id never sent");
            Assert.That(_notifier.Bounced(Bounce("m1", Bob)), Is.Null, "not a notice id");
            Assert.That(_notifier.Bounced(XElement.Parse($"<message xmlns='jabber:component:accept' type='chat' id='{id}' from='{Bob}'><body>x</body></message>")),
                Is.Null, "not an error");
            Assert.That(_notifier.Bounced(XElement.Parse($"<message xmlns='jabber:component:accept' type='error' id='{id}' from='{Bob}'/>"))?.Reason,
                Is.EqualTo("bounced: error (no condition given)"), "a bare error from the recipient is still a bounce");
        });
    }

    [Test]
    public void ABounceAfterTheWindowIsForgotten_AndTheLedgerStaysBounded()
    {
        var (_, stanzas) = Notify("hello");
        _notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        _time.Advance(ArchiveNotifier.BounceWindow + TimeSpan.FromMinutes(1));
        // Enough other notices to make the notifier look at its old ones.
        for (var i = 0; i < 1100; i++)
        {
            var other = $"user{i}@partner.test";
            var e = Chat("x") with { ConversationKey = $"{Alice} {other}", To = other };
            _notifier.Sent(_notifier.Observe([e]).Stanzas.Select(s => (s, (string?)null)).ToList());
        }
        Assert.That(_notifier.Bounced(Bounce(Id(To(stanzas, Bob)), Bob)), Is.Null);
    }

    [Test]
    public void ABounceTenMinutesLateIsNotRecorded_AndTheParticipantStaysTold()
    {
        // No other notice in between: the ledger is small, so only the bounce's age can keep it out.
        var (_, stanzas) = Notify("hello");
        _notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        _time.Advance(ArchiveNotifier.BounceWindow);
        Assert.That(_notifier.Bounced(Bounce(Id(To(stanzas, Bob)), Bob)), Is.Null, "too late to be the server's answer");
        Assert.That(_notifier.Observe([Chat("within the hour")]).Stanzas, Is.Empty, "a late error makes nobody untold");
    }

    [Test]
    public void AHugeOrOddErrorConditionIsRecordedAsOneShortPrintableLine()
    {
        var (_, stanzas) = Notify("hello");
        _notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        // What a hostile remote server may answer for its own user: a 100,000-character type with a right-to-left override,
        // zero-width and line-breaking characters, a condition name thousands of characters long, and a text naming another.
        var type = "cancel\u202E\u200B&#10;&#13;&#9;" + new string('x', 100_000);
        var name = "c" + new string('o', 5_000);
        var stanza = XElement.Parse(
            $"<message xmlns='jabber:component:accept' type='error' id='{Id(To(stanzas, Bob))}' from='{Bob}' to='archive.example.test'>" +
            $"<error type='{type}'><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>item-not-found</text><{name} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
            "</error></message>");
        var reason = _notifier.Bounced(stanza)!.Reason!;
        Assert.Multiple(() =>
        {
            Assert.That(reason, Does.StartWith("bounced: cancel"));
            Assert.That(reason.Length, Is.LessThanOrEqualTo("bounced: ".Length + 200));
            Assert.That(reason.Where(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format), Is.Empty,
                "no line break, no direction override, nothing invisible");
            Assert.That(reason, Does.Not.Contain("item-not-found"), "the error's free text is never the condition");
        });
        var odd = Notify("again after the bounce").Stanzas.Single(); // bob was untold: told again
        _notifier.Sent([(odd, null)]);
        var wrongNamespace = XElement.Parse(
            $"<message xmlns='jabber:component:accept' type='error' id='{Id(odd)}' from='{Bob}'><error type='cancel'><item-not-found xmlns='urn:example:not-stanzas'/></error></message>");
        Assert.That(_notifier.Bounced(wrongNamespace)!.Reason, Is.EqualTo("bounced: cancel/undefined-condition"),
            "a condition outside the stanza-error namespace is not one the server defined");
    }

    [Test]
    public void ANoticeBouncedThroughTheRoomMakesTheOccupantUntold_NotTheRoom()
    {
        const string room = "team@conference.example.test";
        ConversationEvent Occupant(EventKind kind, string jid, string nick, bool hidden) => new()
        {
            Id = Guid.NewGuid().ToString("N"), ReceivedUtc = _time.GetUtcNow(), Kind = kind, Direction = Direction.Incoming,
            ConversationType = ConversationType.GroupChat, ConversationKey = room, From = $"{room}/{nick}", To = Alice,
            SenderBareJid = jid, Nick = nick, RealJidHidden = hidden, Text = kind == EventKind.Message ? "hi" : null, LoggedUsers = [Alice], RawXml = "<x/>",
        };
        _notifier.Sent(_notifier.Observe([Occupant(EventKind.Joined, Alice, "alice", false)]).Stanzas.Select(s => (s, (string?)null)).ToList());
        var told = _notifier.Observe([Occupant(EventKind.Joined, Bob, "bob", true)]).Stanzas.Single();
        Assert.That((string?)told.Attribute("to"), Is.EqualTo(room + "/bob"), "bob's real JID is hidden: told through the room");
        _notifier.Sent([(told, null)]);
        // mod_imlogger_muc's answer when bob left before the notice reached the room.
        var bounce = _notifier.Bounced(Bounce(Id(told), room + "/bob", "item-not-found"));
        Assert.That(bounce!.To, Is.EqualTo($"{room}/bob ({Bob})"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.That(_notifier.Observe([Occupant(EventKind.Message, Alice, "alice", false)]).Stanzas.Select(s => (string?)s.Attribute("to")),
            Is.EqualTo(new[] { room + "/bob" }), "bob (by his real JID, whom the hour counts) is told at the next activity; alice is not");
    }
}

using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Notifier;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Notifier;

public class ArchiveNotifierTests
{
    private const string Room = "room@conference.example.test";
    private const string Custom = "Acme logs this chat.";
    private FakeTimeProvider _time = null!;
    private Dictionary<string, OrganizationConfig> _orgs = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        _orgs = [];
    }

    private void Logged(string jid, NotificationSettings? settings = null)
    {
        var domain = jid[(jid.IndexOf('@') + 1)..];
        _orgs[jid] = new OrganizationConfig { Domains = [domain], DefaultEndpoint = "a", Users = [new LoggedUserConfig(jid, null)], Notifications = settings ?? new() };
    }

    private ArchiveNotifier Notifier() => new(j => _orgs.GetValueOrDefault(j), "archive.example.test", _time);

    private ConversationEvent Chat(string from, string to) => Event(EventKind.Message, ConversationType.OneToOne,
        string.CompareOrdinal(from, to) < 0 ? $"{from} {to}" : $"{to} {from}", from, null, new[] { from, to }.Where(_orgs.ContainsKey).ToArray());

    private ConversationEvent RoomEvent(EventKind kind, string jid, string receiver) =>
        Event(kind, ConversationType.GroupChat, Room, jid, jid[..jid.IndexOf('@')], [receiver]);

    private ConversationEvent Event(EventKind kind, ConversationType type, string key, string sender, string? nick, string[] logged) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = _time.GetUtcNow(),
        Kind = kind,
        Direction = Direction.Incoming,
        ConversationType = type,
        ConversationKey = key,
        From = type == ConversationType.GroupChat ? $"{Room}/{nick}" : sender + "/r",
        To = "x",
        SenderBareJid = sender,
        Nick = nick,
        Text = kind == EventKind.Message ? "hi" : null,
        LoggedUsers = logged,
        RawXml = "<x/>",
    };

    /// <summary>Notices each participant receives, as (recipient, text) pairs.</summary>
    private static List<(string To, string Text)> Sent(ArchiveNotifier n, params ConversationEvent[] events) =>
        n.Observe(events).Stanzas.Select(s => ((string)s.Attribute("to")!, s.Value)).ToList();

    [Test]
    public void OneToOneWithOneLoggedUserTellsBothSidesOnce()
    {
        Logged("alice@example.test");
        var n = Notifier();
        var sent = Sent(n, Chat("alice@example.test", "bob@partner.test"), Chat("bob@partner.test", "alice@example.test"));
        Assert.That(sent, Is.EquivalentTo(new[]
        {
            ("alice@example.test", NotificationSettings.DefaultText),
            ("bob@partner.test", NotificationSettings.DefaultText),
        }));
    }

    [Test]
    public void NoLoggedUserNoNotice()
    {
        Assert.That(Sent(Notifier(), Chat("carol@example.test", "bob@partner.test")), Is.Empty);
    }

    [Test]
    public void NoticesAreRecordedInTheTranscriptAfterTheirTrigger()
    {
        Logged("alice@example.test");
        var trigger = Chat("alice@example.test", "bob@partner.test");
        var events = Notifier().Observe([trigger]).Events;
        Assert.That(events, Has.Count.EqualTo(2));
        Assert.That(events[0], Is.SameAs(trigger));
        Assert.That(events[1].Kind, Is.EqualTo(EventKind.Notice));
        Assert.That(events[1].To, Is.EqualTo("alice@example.test, bob@partner.test"));
        Assert.That(events[1].Text, Is.EqualTo(NotificationSettings.DefaultText));
        Assert.That(events[1].LoggedUsers, Is.EqualTo(new[] { "alice@example.test" }));
    }

    [TestCase(0, 0, 0)]
    [TestCase(1, 1, 1)]
    [TestCase(2, 1, 1)]
    [TestCase(3, 1, 1)]
    [TestCase(2, 2, 2)]
    [TestCase(3, 3, 3)]
    public void GroupChatEachParticipantGetsOneNoticePerDistinctText(int logged, int distinctTexts, int expectedPerParticipant)
    {
        // Five occupants; the first `logged` are logged, in organizations using `distinctTexts` different texts.
        var occupants = new[] { "u1@org1.test", "u2@org2.test", "u3@org3.test", "u4@free.test", "u5@free.test" };
        for (var i = 0; i < logged; i++)
            Logged(occupants[i], new NotificationSettings { Text = i < distinctTexts ? $"text {i}" : "text 0" });
        var n = Notifier();
        var receiver = logged > 0 ? occupants[0] : "nobody@free.test";
        var events = occupants.Select(o => RoomEvent(EventKind.Present, o, receiver)).ToList();
        events.Add(RoomEvent(EventKind.Message, occupants[0], receiver) with { LoggedUsers = occupants.Take(logged).ToArray() });
        var sent = Sent(n, [.. events]);
        foreach (var o in occupants)
            Assert.That(sent.Count(s => s.To == o), Is.EqualTo(expectedPerParticipant), o);
        Assert.That(sent.Select(s => s.Text).Distinct().Count(), Is.EqualTo(distinctTexts));
    }

    [Test]
    public void ACustomTextIsSeenByAllBesideTheDefault()
    {
        Logged("alice@example.test");
        Logged("dan@acme.test", new NotificationSettings { Text = Custom });
        var n = Notifier();
        var sent = Sent(n, Chat("alice@example.test", "dan@acme.test"));
        Assert.That(sent, Has.Count.EqualTo(4));
        Assert.That(sent.Where(s => s.To == "alice@example.test").Select(s => s.Text), Is.EquivalentTo(new[] { NotificationSettings.DefaultText, Custom }));
        Assert.That(sent.Where(s => s.To == "dan@acme.test").Select(s => s.Text), Is.EquivalentTo(new[] { NotificationSettings.DefaultText, Custom }));
    }

    [Test]
    public void AtMostOnceAnHourThenOnlyOnNewActivity()
    {
        Logged("alice@example.test");
        var n = Notifier();
        Assert.That(Sent(n, Chat("alice@example.test", "bob@partner.test")), Has.Count.EqualTo(2));
        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.That(Sent(n, Chat("bob@partner.test", "alice@example.test")), Is.Empty, "within the hour");
        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.That(n.Observe([]).Stanzas, Is.Empty, "the hour passing alone sends nothing");
        Assert.That(Sent(n, Chat("bob@partner.test", "alice@example.test")), Has.Count.EqualTo(2), "new activity after the hour");
    }

    [Test]
    public void SignOutStartsTheHourOver()
    {
        Logged("alice@example.test");
        var n = Notifier();
        Sent(n, Chat("alice@example.test", "bob@partner.test"));
        _time.Advance(TimeSpan.FromMinutes(5));
        n.SignedOut("bob@partner.test");
        Assert.That(Sent(n, Chat("alice@example.test", "bob@partner.test")), Is.Empty, "a participant who is not logged signing out changes nothing");
        n.SignedOut("alice@example.test");
        _time.Advance(n.ReconnectGrace);
        Assert.That(Sent(n, Chat("bob@partner.test", "alice@example.test")), Has.Count.EqualTo(2), "away longer than a reconnect: the hour starts over");
    }

    [Test]
    public void AReconnectIsNotASignOut()
    {
        Logged("alice@example.test");
        var n = Notifier();
        Sent(n, Chat("alice@example.test", "bob@partner.test"));
        for (var i = 0; i < 100; i++)
        {
            n.SignedOut("alice@example.test");
            _time.Advance(TimeSpan.FromSeconds(20));
            n.Seen("alice@example.test"); // her new session's presence
            Assert.That(Sent(n, Chat("alice@example.test", "bob@partner.test")), Is.Empty, $"reconnect {i + 1}");
        }
    }

    [TestCase(true, true, 2)]
    [TestCase(true, false, 1)]
    [TestCase(false, true, 1)]
    [TestCase(false, false, 0)]
    public void InsideAndOutsideSwitches(bool inside, bool outside, int expected)
    {
        Logged("alice@example.test", new NotificationSettings { NotifyInside = inside, NotifyOutside = outside });
        var sent = Sent(Notifier(), Chat("alice@example.test", "carol@example.test"), Chat("alice@example.test", "bob@partner.test"));
        // carol and alice are inside example.test (alice appears in both conversations), bob is outside.
        Assert.That(sent.Count(s => s.To == "carol@example.test"), Is.EqualTo(inside ? 1 : 0));
        Assert.That(sent.Count(s => s.To == "bob@partner.test"), Is.EqualTo(outside ? 1 : 0));
        Assert.That(sent.Count(s => s.To == "alice@example.test"), Is.EqualTo(inside ? 2 : 0), "alice is told in each conversation");
        Assert.That(sent.Select(s => s.To).Where(t => t != "alice@example.test").Distinct().Count(), Is.EqualTo(expected));
    }

    [Test]
    public void EveryDomainOfTheOrganizationIsInside()
    {
        _orgs["alice@example.test"] = new OrganizationConfig
        {
            Domains = ["example.test", "example.net"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)],
            Notifications = new NotificationSettings { NotifyInside = false, NotifyOutside = true },
        };
        var sent = Sent(Notifier(), Chat("alice@example.test", "carol@example.net"), Chat("alice@example.test", "bob@partner.test"));
        Assert.That(sent.Select(s => s.To), Is.EquivalentTo(new[] { "bob@partner.test" }), "carol is in the organization's second domain: inside, so not told");
    }

    [Test]
    public void ANewJoinerIsToldWhileTheOthersAreNotToldAgain()
    {
        Logged("alice@example.test");
        var n = Notifier();
        var first = Sent(n, RoomEvent(EventKind.Present, "bob@partner.test", "alice@example.test"), RoomEvent(EventKind.Joined, "alice@example.test", "alice@example.test"));
        Assert.That(first.Select(s => s.To), Is.EquivalentTo(new[] { "alice@example.test", "bob@partner.test" }));
        _time.Advance(TimeSpan.FromMinutes(10));
        var later = Sent(n, RoomEvent(EventKind.Joined, "carol@partner.test", "alice@example.test"));
        Assert.That(later.Select(s => s.To), Is.EqualTo(new[] { "carol@partner.test" }));
    }

    [Test]
    public void ALoggedUserWhoLeftNoLongerCallsForTheirText()
    {
        Logged("alice@example.test");
        Logged("dan@acme.test", new NotificationSettings { Text = Custom });
        var n = Notifier();
        Sent(n, RoomEvent(EventKind.Joined, "alice@example.test", "alice@example.test"), RoomEvent(EventKind.Joined, "dan@acme.test", "dan@acme.test"));
        Sent(n, RoomEvent(EventKind.Left, "dan@acme.test", "alice@example.test"));
        var joiner = Sent(n, RoomEvent(EventKind.Joined, "erin@partner.test", "alice@example.test"));
        Assert.That(joiner, Is.EqualTo(new[] { ("erin@partner.test", NotificationSettings.DefaultText) }));
    }

    [Test]
    public void StanzasComeFromTheComponentAsChatMessages()
    {
        Logged("alice@example.test");
        var stanza = Notifier().Observe([Chat("alice@example.test", "bob@partner.test")]).Stanzas[0];
        Assert.That((string?)stanza.Attribute("from"), Is.EqualTo("archive.example.test"));
        Assert.That((string?)stanza.Attribute("type"), Is.EqualTo("chat"));
        Assert.That((string?)stanza.Attribute("id"), Does.StartWith("imlogger-notice-"));
    }

    [Test]
    public void SilentConversationsAreForgotten()
    {
        Logged("alice@example.test");
        var n = Notifier();
        for (var i = 0; i < 50; i++) Sent(n, Chat("alice@example.test", $"u{i}@partner.test"));
        Assert.That(n.ConversationCount, Is.EqualTo(50));
        _time.Advance(TimeSpan.FromHours(2));
        n.Observe([]);
        Assert.That(n.ConversationCount, Is.Zero);
    }
}

public class ArchiveNotifierActivityTests
{
    [TestCase(EventKind.CallInitiated, true)]
    [TestCase(EventKind.FileOffered, true)]
    [TestCase(EventKind.Invitation, true)]
    [TestCase(EventKind.CallEnded, false)]
    [TestCase(EventKind.Left, false)]
    public void StartingAnotherCommunicationModeIsActivity(EventKind kind, bool notifies)
    {
        var org = new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)] };
        var notifier = new ArchiveNotifier(j => j == "alice@example.test" ? org : null, "archive.example.test", new FakeTimeProvider());
        var e = new ConversationEvent
        {
            Id = "e", ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = kind, Direction = Direction.Outgoing,
            ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@partner.test",
            From = "alice@example.test/l", To = "bob@partner.test", LoggedUsers = ["alice@example.test"], RawXml = "<x/>",
        };
        Assert.That(notifier.Observe([e]).Stanzas.Count, Is.EqualTo(notifies ? 2 : 0));
    }
}

using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Notifier;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.GroupChat;

/// <summary>
/// Two logged occupants of a semi-anonymous room get their own copy of each presence broadcast: the moderator's names the
/// real JID, the participant's does not (tap mode, or a MUC host without mod_imlogger_muc). Whichever copy comes first, the
/// occupant ends up identified and told once. Before the fix, the nick-only copy first meant the occupant was never told.
/// </summary>
public class CopyOrderTests
{
    private const string Room = "board@conference.example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    private static string Join(string receiver, string nick, string? disclosed) =>
        $"<presence xmlns='jabber:client' from='{Room}/{nick}' to='{receiver}/pc'><x xmlns='http://jabber.org/protocol/muc#user'>"
        + $"<item affiliation='none' role='participant'{(disclosed == null ? "" : $" jid='{disclosed}/phone'")}/></x></presence>";

    private static string Self(string receiver, string nick) =>
        $"<presence xmlns='jabber:client' from='{Room}/{nick}' to='{receiver}/pc'><x xmlns='http://jabber.org/protocol/muc#user'>"
        + $"<item affiliation='owner' role='moderator' jid='{receiver}/pc'/><status code='110'/></x></presence>";

    private static IReadOnlyList<ConversationEvent> Classify(StanzaClassifier c, string xml) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0)).Events;

    private static (StanzaClassifier, ArchiveNotifier) Parts()
    {
        var org = new OrganizationConfig
        {
            Domains = ["example.test"], DefaultEndpoint = "a",
            Users = [new LoggedUserConfig("alice@example.test", null), new LoggedUserConfig("erin@example.test", null)],
        };
        var classifier = new StanzaClassifier(j => j is "alice@example.test" or "erin@example.test");
        var notifier = new ArchiveNotifier(j => j is "alice@example.test" or "erin@example.test" ? org : null, "archive.example.test", new FakeTimeProvider(T0));
        return (classifier, notifier);
    }

    [TestCase(true, TestName = "The hiding copy first: the occupant is identified by the disclosing copy and told then")]
    [TestCase(false, TestName = "The disclosing copy first: the occupant is told at the join, the hiding copy adds nothing")]
    public void BobIsToldOnceWhicheverCopyComesFirst(bool hidingFirst)
    {
        var (c, notifier) = Parts();
        var setUp = Classify(c, Self("alice@example.test", "alice")).Concat(Classify(c, Self("erin@example.test", "erin")))
            .Concat(Classify(c, Join("alice@example.test", "erin", "erin@example.test"))).ToList();
        notifier.Observe(setUp);

        var hiding = Join("erin@example.test", "bob", null);   // erin is no moderator: the room hides bob's JID from her
        var disclosing = Join("alice@example.test", "bob", "bob@example.test");
        var first = Classify(c, hidingFirst ? hiding : disclosing);
        var second = Classify(c, hidingFirst ? disclosing : hiding);
        // Each copy in its own batch, as they come when the two logged users' copies travel apart.
        var (out1, stanzas1) = notifier.Observe(first);
        var (out2, stanzas2) = notifier.Observe(second);

        var toBob = stanzas1.Concat(stanzas2).Count(s => (string?)s.Attribute("to") == "bob@example.test");
        var events = out1.Concat(out2).Where(e => e.Kind != EventKind.Notice).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(toBob, Is.EqualTo(1), "bob is told exactly once");
            Assert.That(events.Count(e => e.Kind == EventKind.Joined), Is.EqualTo(1), "one join");
            Assert.That(events.Any(e => e.SenderBareJid == "bob@example.test"), Is.True, "the transcript names bob's real JID");
            Assert.That(events.All(e => !e.RealJidHidden), Is.True, "a moderator's copy disclosed it: nothing to hide");
        });
    }

    [Test]
    public void AnOccupantNoCopyNamesStaysUntoldAndANickOnlyCopyChangesNothing()
    {
        var (c, notifier) = Parts();
        notifier.Observe(Classify(c, Self("erin@example.test", "erin")));
        var joined = notifier.Observe(Classify(c, Join("erin@example.test", "bob", null)));
        var again = Classify(c, Join("erin@example.test", "bob", null));
        Assert.Multiple(() =>
        {
            Assert.That(joined.Stanzas.Select(s => (string?)s.Attribute("to")), Has.None.EqualTo("bob@example.test"), "nobody can name bob: he cannot be told");
            Assert.That(again, Is.Empty, "a repeated nick-only copy is no new event");
        });
    }

    [Test]
    public void AnOccupantKnownByNickIsToldWhenTheirFirstMessageNamesThem()
    {
        var (c, notifier) = Parts();
        notifier.Observe(Classify(c, Self("erin@example.test", "erin")));
        notifier.Observe(Classify(c, Join("erin@example.test", "bob", null)));
        // The server's MUC module names bob on the held message (inline mode), though it did not on his join.
        var said = c.Classify(new TapEnvelope(XElement.Parse(
            $"<message xmlns='jabber:client' type='groupchat' from='{Room}/bob' to='erin@example.test/pc'><body>hi</body></message>"), "example.test", T0)
        { OccupantJid = "bob@example.test" }).Events;
        var (_, stanzas) = notifier.Observe(said);
        Assert.That(stanzas.Select(s => (string?)s.Attribute("to")), Has.One.EqualTo($"{Room}/bob"), "told through the room, where his JID is hidden");
    }
}

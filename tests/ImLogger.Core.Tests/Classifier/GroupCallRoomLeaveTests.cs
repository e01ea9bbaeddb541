using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

/// <summary>A group call (XEP-0482 invite to a room) ends when the room empties of the call: the last participant sends
/// <c>&lt;left&gt;</c>, or leaves the room without it (a client that crashed or lost its connection).</summary>
public class GroupCallRoomLeaveTests
{
    private const string Alice = "alice@example.test";
    private const string Room = "standup@conference.example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    private static string Group(string from, string to, string inner, string id = "") =>
        $"<message xmlns='jabber:client' from='{from}' to='{to}' type='groupchat' id='{(id.Length > 0 ? id : Guid.NewGuid().ToString("N"))}'>{inner}</message>";

    private static string Signal(string action) => $"<{action} xmlns='urn:xmpp:call-invites:0' id='inv1'/>";

    private static string Presence(string nick, string? type = null, bool self = false, string? jid = null) =>
        $"<presence xmlns='jabber:client' from='{Room}/{nick}' to='{Alice}/laptop'{(type == null ? "" : $" type='{type}'")}><x xmlns='http://jabber.org/protocol/muc#user'>"
        + $"<item affiliation='none' role='{(type == null ? "participant" : "none")}'{(jid == null ? "" : $" jid='{jid}/x'")}/>{(self ? "<status code='110'/>" : "")}</x></presence>";

    private static List<ConversationEvent> Classify(StanzaClassifier c, string xml, int seconds) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0.AddSeconds(seconds))).Events.ToList();

    private static StanzaClassifier InACall()
    {
        var c = new StanzaClassifier(j => j == Alice);
        Classify(c, Presence("bob", jid: "bob@example.test"), 0);
        Classify(c, Presence("carol"), 0); // the room hides carol's JID: she counts as room/carol
        Classify(c, Presence("alice", self: true, jid: Alice), 0);
        Classify(c, Group(Alice + "/laptop", Room, "<invite xmlns='urn:xmpp:call-invites:0'><jingle sid='s1'/></invite>", "inv1"), 0);
        Classify(c, Group(Room + "/bob", Alice + "/laptop", Signal("accept")), 10);
        Classify(c, Group(Room + "/carol", Alice + "/laptop", Signal("accept")), 12);
        return c;
    }

    [Test]
    public void TheCallEndsWhenItsLastParticipantLeavesTheRoomWithoutSayingLeft()
    {
        var c = InACall();
        Assert.That(Classify(c, Group(Alice + "/laptop", Room, Signal("left")), 20), Is.Empty, "alice hung up; bob and carol go on");
        var bobGone = Classify(c, Presence("bob", "unavailable", jid: "bob@example.test"), 30);
        Assert.That(bobGone.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Left }), "carol is still in the call");
        var carolGone = Classify(c, Presence("carol", "unavailable"), 70);
        Assert.Multiple(() =>
        {
            Assert.That(carolGone.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Left, EventKind.CallEnded }));
            var end = carolGone[1];
            Assert.That(end.SessionId, Is.EqualTo("inv1"));
            Assert.That(end.Reason, Is.EqualTo("left"));
            Assert.That(end.Duration, Is.EqualTo(TimeSpan.FromSeconds(60)), "from the first accept to the room emptying of the call");
            Assert.That(end.ConversationKey, Is.EqualTo(Room));
        });
        Assert.That(Classify(c, Group(Room + "/carol", Alice + "/laptop", Signal("left")), 71), Is.Empty, "a late <left> ends nothing twice");
    }

    [Test]
    public void AnOccupantWhoWasNotInTheCallLeavingChangesNothing()
    {
        var c = InACall();
        Classify(c, Presence("dave", jid: "dave@example.test"), 13);
        Assert.That(Classify(c, Presence("dave", "unavailable", jid: "dave@example.test"), 14).Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Left }));
        Classify(c, Group(Room + "/bob", Alice + "/laptop", Signal("left")), 20);
        Classify(c, Group(Room + "/carol", Alice + "/laptop", Signal("left")), 21);
        Assert.That(Classify(c, Group(Alice + "/laptop", Room, Signal("left")), 40).Single().Kind, Is.EqualTo(EventKind.CallEnded),
            "the inviter, the last in the call, ends it by <left> as before");
    }

    [Test]
    public void TheLoggedUsersOwnLeaveCountsToo()
    {
        var c = InACall();
        Classify(c, Group(Room + "/bob", Alice + "/laptop", Signal("left")), 20);
        Classify(c, Group(Room + "/carol", Alice + "/laptop", Signal("left")), 21);
        var gone = Classify(c, $"<presence xmlns='jabber:client' type='unavailable' from='{Alice}/laptop' to='{Room}/alice'/>", 50);
        Assert.That(gone.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Left, EventKind.CallEnded }));
    }
}

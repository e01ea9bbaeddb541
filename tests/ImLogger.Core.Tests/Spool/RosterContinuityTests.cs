using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Continuity;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>The classifier's room rosters survive a restart: each "run" is a new classifier on a spool reopened from the same
/// file, as after `imlogger` is restarted. Without it an occupant's first presence after a restart read as a join.</summary>
public class RosterContinuityTests : TempDirFixture
{
    private const string Room = "team@conference.example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    private LiteDbSpool OpenSpool() => new(Path.Combine(Dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);

    private static string Presence(string nick, string? show = null, bool self = false, string? type = null) =>
        $"<presence xmlns='jabber:client' from='{Room}/{nick}' to='alice@example.test/pc'{(type == null ? "" : $" type='{type}'")}>"
        + (show == null ? "" : $"<show>{show}</show>")
        + $"<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='{(type == null ? "participant" : "none")}'/>{(self ? "<status code='110'/>" : "")}</x></presence>";

    private static string Subject(string text) =>
        $"<message xmlns='jabber:client' type='groupchat' from='{Room}/bob' to='alice@example.test/pc'><subject>{text}</subject></message>";

    /// <summary>One run: classify, then the pipeline's flush after the batch. Each stanza's occupant-jid (nick@example.test)
    /// stands in for the server's MUC module naming the occupant (inline mode, semi-anonymous room).</summary>
    private static List<ConversationEvent> Run(LiteDbSpool spool, bool keep, params string[] stanzas)
    {
        var classifier = new StanzaClassifier("alice@example.test".Equals);
        var log = new ContinuityLog(spool);
        if (keep) classifier.UseContinuity(log, T0);
        var events = stanzas.SelectMany(x =>
        {
            var nick = (string)XElement.Parse(x).Attribute("from")!;
            nick = nick[(nick.IndexOf('/') + 1)..];
            return classifier.Classify(new TapEnvelope(XElement.Parse(x), "example.test", T0) { OccupantJid = $"{nick}@example.test" }).Events;
        }).ToList();
        log.Flush();
        return events;
    }

    [Test]
    public void AfterARestartAStatusChangeIsNoJoinAndTheSameSubjectIsNoChange()
    {
        using (var spool = OpenSpool())
            Run(spool, keep: true, Presence("bob"), Presence("alice", self: true), Subject("Plans"));
        using (var spool = OpenSpool())
        {
            var after = Run(spool, keep: true, Presence("bob", show: "away"), Subject("Plans"), Presence("carol"));
            Assert.Multiple(() =>
            {
                Assert.That(after.Count(e => e.Nick == "bob"), Is.Zero, "bob going away is a status change, not a second join");
                Assert.That(after.Any(e => e.Kind == EventKind.SubjectChanged), Is.False, "the subject announced again is no change");
                Assert.That(after.Single().Kind, Is.EqualTo(EventKind.Joined), "carol, new after the restart, joined (alice had joined before it)");
                Assert.That(after.Single().SenderBareJid, Is.EqualTo("carol@example.test"));
            });
        }
    }

    [Test]
    public void WithoutTheSpoolAStatusChangeAfterARestartReadAsAJoin()
    {
        // The control for the test above: the same room, the roster not kept.
        using (var spool = OpenSpool())
            Run(spool, keep: false, Presence("bob"), Presence("alice", self: true));
        using (var spool = OpenSpool())
            Assert.That(Run(spool, keep: true, Presence("bob", show: "away")).Count(e => e.Nick == "bob"), Is.EqualTo(1));
    }

    [Test]
    public void ALeaveAfterARestartIsRecordedAndTheRoomIsForgottenWhenTheLastLoggedUserLeaves()
    {
        using (var spool = OpenSpool())
            Run(spool, keep: true, Presence("bob"), Presence("alice", self: true));
        using (var spool = OpenSpool())
        {
            var left = Run(spool, keep: true, Presence("bob", type: "unavailable"));
            Assert.That(left.Single().Kind, Is.EqualTo(EventKind.Left), "bob, present before the restart, left after it");
            Run(spool, keep: true, Presence("alice", self: true, type: "unavailable"));
            Assert.That(spool.LoadContinuity().Where(r => r.Kind == "room"), Is.Empty, "no logged user in the room: nothing kept");
        }
    }

    [Test]
    public void ADamagedRecordStartsTheRoomEmptyAndLosesNothingElse()
    {
        using (var spool = OpenSpool())
        {
            spool.SaveContinuity([
                new ContinuityRecord("room:bad1", "room", T0, new Dictionary<string, string?> { ["room"] = Room, ["members"] = "no tab here", ["occupants"] = "\t\t\t" }),
                new ContinuityRecord("room:bad2", "room", T0, new Dictionary<string, string?> { ["members"] = "alice@example.test\talice" }),
            ], []);
            var events = Run(spool, keep: true, Presence("bob"));
            Assert.That(events.Single().Kind, Is.EqualTo(EventKind.Present), "the room starts empty: bob is seen as already there");
        }
    }
}

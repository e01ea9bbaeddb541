using ImLogger.Continuity;
using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Notifier;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Spool;

/// <summary>Calls in progress and notices sent survive a restart: each "run" below is a new classifier or notifier on a
/// spool reopened from the same file, as after `imlogger` is restarted.</summary>
public class ContinuityTests : TempDirFixture
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@example.test";
    private const string Room = "room@conference.example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    private string SpoolPath => Path.Combine(Dir, "spool.db");

    private LiteDbSpool OpenSpool() => new(SpoolPath, NullLogger<LiteDbSpool>.Instance);

    private static Classification Classify(StanzaClassifier c, string xml, DateTimeOffset at) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", at));

    private static string Jmi(string from, string to, string action, string sid, string inner = "") =>
        $"<message xmlns='jabber:client' from='{from}' to='{to}' type='chat' id='{Guid.NewGuid():N}'><{action} xmlns='urn:xmpp:jingle-message:0' id='{sid}'>{inner}</{action}></message>";

    private const string Audio = "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>";
    private const string Success = "<reason xmlns='urn:xmpp:jingle:1'><success/></reason>";

    /// <summary>One run of the classifier on the spool: what it classifies, then the pipeline's flush after the batch.</summary>
    private static List<ConversationEvent> Run(LiteDbSpool spool, Func<string, bool> isLogged, bool keep, params (string Xml, DateTimeOffset At)[] stanzas)
    {
        var classifier = new StanzaClassifier(isLogged);
        var log = new ContinuityLog(spool);
        if (keep) classifier.UseContinuity(log, stanzas.Length > 0 ? stanzas[0].At : T0);
        var events = stanzas.SelectMany(s => Classify(classifier, s.Xml, s.At).Events).ToList();
        log.Flush();
        return events;
    }

    [Test]
    public void ACallKeepsItsDurationAcrossARestart()
    {
        using (var spool = OpenSpool())
            Run(spool, j => j == Alice, keep: true,
                (Jmi(Alice + "/laptop", Bob, "propose", "call-1", Audio), T0),
                (Jmi(Bob + "/phone", Alice + "/laptop", "proceed", "call-1"), T0.AddSeconds(5)));
        using (var spool = OpenSpool())
        {
            var end = Run(spool, j => j == Alice, keep: true, (Jmi(Bob + "/phone", Alice + "/laptop", "finish", "call-1", Success), T0.AddSeconds(65))).Single();
            Assert.Multiple(() =>
            {
                Assert.That(end.Kind, Is.EqualTo(EventKind.CallEnded));
                Assert.That(end.Duration, Is.EqualTo(TimeSpan.FromSeconds(60)), "from the answer before the restart to the end after it");
                Assert.That(end.CallMedia, Is.EqualTo(CallMedia.Audio));
                Assert.That(spool.LoadContinuity(), Is.Empty, "an ended call is no longer kept");
            });
        }
    }

    [Test]
    public void WithoutTheSpoolTheEndAfterARestartHasNoDuration()
    {
        // The control for the test above: the same calls, the state not kept.
        using (var spool = OpenSpool())
            Run(spool, j => j == Alice, keep: false,
                (Jmi(Alice + "/laptop", Bob, "propose", "call-1", Audio), T0),
                (Jmi(Bob + "/phone", Alice + "/laptop", "proceed", "call-1"), T0.AddSeconds(5)));
        using (var spool = OpenSpool())
            Assert.That(Run(spool, j => j == Alice, keep: true, (Jmi(Bob + "/phone", Alice + "/laptop", "finish", "call-1", Success), T0.AddSeconds(65))).Single().Duration,
                Is.Null);
    }

    [Test]
    public void AForgedEndNeitherEndsAnotherConversationsCallNorInventsADuration()
    {
        using (var spool = OpenSpool())
            Run(spool, j => j == Alice, keep: true,
                (Jmi(Alice + "/laptop", Bob, "propose", "call-1", Audio), T0),
                (Jmi(Bob + "/phone", Alice + "/laptop", "proceed", "call-1"), T0.AddSeconds(5)));
        using (var spool = OpenSpool())
        {
            var events = Run(spool, j => j == Alice, keep: true,
                // Mallory names alice's call: it is another conversation, so another call.
                (Jmi("mallory@evil.test/x", Alice + "/laptop", "finish", "call-1", Success), T0.AddSeconds(20)),
                // An end for a call that never started.
                (Jmi(Bob + "/phone", Alice + "/laptop", "finish", "never-started", Success), T0.AddSeconds(25)),
                (Jmi(Bob + "/phone", Alice + "/laptop", "finish", "call-1", Success), T0.AddSeconds(65)));
            Assert.Multiple(() =>
            {
                Assert.That(events.Select(e => (e.ConversationKey, e.SessionId, e.Duration)), Is.EqualTo(new (string, string?, TimeSpan?)[]
                {
                    ("alice@example.test mallory@evil.test", "call-1", null),
                    ("alice@example.test bob@example.test", "never-started", null),
                    ("alice@example.test bob@example.test", "call-1", TimeSpan.FromSeconds(60)),
                }));
                Assert.That(spool.LoadContinuity(), Is.Empty, "forged ends leave nothing kept behind");
            });
        }
    }

    [Test]
    public void StateKeptForAUserNoLongerLoggedIsHarmless()
    {
        using (var spool = OpenSpool())
            Run(spool, j => j == Alice, keep: true,
                (Jmi(Alice + "/laptop", Bob, "propose", "call-1", Audio), T0),
                (Jmi(Bob + "/phone", Alice + "/laptop", "proceed", "call-1"), T0.AddSeconds(5)));
        using (var spool = OpenSpool())
        {
            // Alice is no longer logged: her call's end is hers alone to record, so nothing is archived.
            var events = Run(spool, _ => false, keep: true, (Jmi(Bob + "/phone", Alice + "/laptop", "finish", "call-1", Success), T0.AddSeconds(65)));
            Assert.That(events, Is.Empty);
        }
        using (var spool = OpenSpool())
        {
            // A day later it is forgotten.
            Run(spool, _ => false, keep: true, (Jmi(Bob + "/phone", Bob + "/x", "finish", "other", Success), T0 + StanzaClassifier.CallKeptFor + TimeSpan.FromMinutes(1)));
            Assert.That(spool.LoadContinuity(), Is.Empty);
        }
    }

    [Test]
    public void AnUnreadableKeptRecordIsSkipped()
    {
        using var spool = OpenSpool();
        spool.SaveContinuity([new ContinuityRecord("call:x", "call", T0, new Dictionary<string, string?> { ["sid"] = null })], []);
        var classifier = new StanzaClassifier(j => j == Alice);
        Assert.That(classifier.UseContinuity(new ContinuityLog(spool), T0), Is.Zero);
    }

    private static string Group(string from, string to, string inner, string id = "") =>
        $"<message xmlns='jabber:client' from='{from}' to='{to}' type='groupchat' id='{(id.Length > 0 ? id : Guid.NewGuid().ToString("N"))}'>{inner}</message>";

    [Test]
    public void AGroupCallEndsWhenItsLastParticipantLeavesAcrossARestart()
    {
        const string invite = "<invite xmlns='urn:xmpp:call-invites:0'><jingle sid='s1'/></invite>";
        static string Signal(string action) => $"<{action} xmlns='urn:xmpp:call-invites:0' id='inv1'/>";
        using (var spool = OpenSpool())
        {
            var started = Run(spool, j => j == Alice, keep: true,
                (Group(Alice + "/laptop", Room, invite, "inv1"), T0),
                (Group(Room + "/bob", Alice + "/laptop", Signal("accept")), T0.AddSeconds(10)),
                (Group(Room + "/carol", Alice + "/laptop", Signal("accept")), T0.AddSeconds(12)),
                (Group(Room + "/dave", Alice + "/laptop", Signal("reject")), T0.AddSeconds(13)));
            Assert.That(started.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.CallInitiated, EventKind.CallAccepted }));
        }
        using (var spool = OpenSpool())
        {
            var events = Run(spool, j => j == Alice, keep: true,
                (Group(Room + "/bob", Alice + "/laptop", Signal("left")), T0.AddSeconds(30)),
                (Group(Alice + "/laptop", Room, Signal("left")), T0.AddSeconds(40)));
            Assert.That(events, Is.Empty, "carol is still in the call");
        }
        using (var spool = OpenSpool())
        {
            var end = Run(spool, j => j == Alice, keep: true, (Group(Room + "/carol", Alice + "/laptop", Signal("left")), T0.AddSeconds(70))).Single();
            Assert.Multiple(() =>
            {
                Assert.That(end.Kind, Is.EqualTo(EventKind.CallEnded));
                Assert.That(end.ConversationKey, Is.EqualTo(Room));
                Assert.That(end.Duration, Is.EqualTo(TimeSpan.FromSeconds(60)));
            });
        }
    }

    // --- the notice hour ---

    private static Func<string, OrganizationConfig?> AliceLogged()
    {
        var org = new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig(Alice, null)], Notifications = new() };
        return j => j == Alice ? org : null;
    }

    private static ConversationEvent Chat(DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = at, Kind = EventKind.Message, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = $"{Alice} {Bob}", From = Alice + "/l", To = Bob,
        SenderBareJid = Alice, Text = "hi", LoggedUsers = [Alice], RawXml = "<x/>",
    };

    /// <summary>One run of the notifier (a new process: its monotonic clock starts anew) on the spool, as the ingest loop
    /// drives it: the batch stored, its notices sent (or not: <paramref name="failure"/>), what became of them stored.</summary>
    /// <returns>Who a notice was decided for.</returns>
    private static List<string> NoticeRun(LiteDbSpool spool, Func<string, OrganizationConfig?> organizationOf, DateTimeOffset at, string? failure = null)
    {
        var time = new FakeTimeProvider(at);
        var notifier = new ArchiveNotifier(organizationOf, "archive.example.test", time);
        var log = new ContinuityLog(spool);
        notifier.UseContinuity(log);
        var stanzas = notifier.Observe([Chat(at)]).Stanzas;
        log.Flush();
        notifier.Sent(stanzas.Select(s => (s, failure)).ToList());
        log.Flush();
        return stanzas.Select(s => (string)s.Attribute("to")!).Order().ToList();
    }

    [Test]
    public void NobodyIsToldAgainWithinTheHourAfterARestart()
    {
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0), Is.EqualTo(new[] { Alice, Bob }));
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddMinutes(30)), Is.Empty, "told 30 minutes ago, before the restart");
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddMinutes(61)), Is.EqualTo(new[] { Alice, Bob }), "the hour is over");
    }

    [Test]
    public void ANoticeThatWasNotSentIsToldAtTheNextActivityAfterARestart()
    {
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0, failure: "not connected to the server"), Is.EqualTo(new[] { Alice, Bob }));
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddMinutes(5)), Is.EqualTo(new[] { Alice, Bob }),
                "nobody was told: the restart does not count a notice that never went out");
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddMinutes(10)), Is.Empty, "told now: not again within the hour");
    }

    [Test]
    public void ANoticeDecidedButNeverSentIsNotKeptAsTold()
    {
        // ImLogger stopped between storing the batch (the notice decided) and sending it.
        using (var spool = OpenSpool())
        {
            var notifier = new ArchiveNotifier(AliceLogged(), "archive.example.test", new FakeTimeProvider(T0));
            var log = new ContinuityLog(spool);
            notifier.UseContinuity(log);
            Assert.That(notifier.Observe([Chat(T0)]).Stanzas, Has.Count.EqualTo(2));
            log.Flush();
        }
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddMinutes(5)), Is.EqualTo(new[] { Alice, Bob }));
    }

    [Test]
    public void ANoticeTheServerBouncedIsToldAgainAfterARestart_TheOthersAreNot()
    {
        using (var spool = OpenSpool())
        {
            var notifier = new ArchiveNotifier(AliceLogged(), "archive.example.test", new FakeTimeProvider(T0));
            var log = new ContinuityLog(spool);
            notifier.UseContinuity(log);
            var stanzas = notifier.Observe([Chat(T0)]).Stanzas;
            log.Flush();
            notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
            log.Flush();
            var toBob = stanzas.Single(s => (string?)s.Attribute("to") == Bob);
            Assert.That(notifier.Bounced(XElement.Parse(
                $"<message xmlns='jabber:component:accept' type='error' id='{(string)toBob.Attribute("id")!}' from='{Bob}' to='archive.example.test'>" +
                "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")), Is.Not.Null);
            log.Flush(); // with the batch that stored the bounce
        }
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddMinutes(5)), Is.EqualTo(new[] { Bob }), "bob's bounced; alice's went out");
    }

    [Test]
    public void AClockSteppedBackAcrossARestartRepeatsNoNotice()
    {
        using (var spool = OpenSpool())
            NoticeRun(spool, AliceLogged(), T0);
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, AliceLogged(), T0.AddHours(-3)), Is.Empty, "a notice from the future counts as just sent");
    }

    [Test]
    public void KeptNoticesForAUserNoLongerLoggedTellNobody()
    {
        using (var spool = OpenSpool())
            NoticeRun(spool, AliceLogged(), T0);
        using (var spool = OpenSpool())
            Assert.That(NoticeRun(spool, _ => null, T0.AddMinutes(5)), Is.Empty);
    }

    private static ConversationEvent RoomEvent(EventKind kind, string jid, string nick, DateTimeOffset at, bool hidden = false) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = at, Kind = kind, Direction = Direction.Incoming,
        ConversationType = ConversationType.GroupChat, ConversationKey = Room, From = $"{Room}/{nick}", To = Alice,
        SenderBareJid = jid, Nick = nick, RealJidHidden = hidden, Text = kind == EventKind.Message ? "hi" : null, LoggedUsers = [Alice], RawXml = "<x/>",
    };

    private static List<string> RoomRun(LiteDbSpool spool, DateTimeOffset at, params ConversationEvent[] events)
    {
        var time = new FakeTimeProvider(at);
        var notifier = new ArchiveNotifier(AliceLogged(), "archive.example.test", time);
        var log = new ContinuityLog(spool);
        notifier.UseContinuity(log);
        var stanzas = notifier.Observe(events).Stanzas;
        log.Flush();
        notifier.Sent(stanzas.Select(s => (s, (string?)null)).ToList());
        log.Flush();
        return stanzas.Select(s => (string)s.Attribute("to")!).Order().ToList();
    }

    [Test]
    public void ARoomsRosterSurvivesARestartSoItsSilentOccupantsAreToldWhenTheHourIsOver()
    {
        using (var spool = OpenSpool())
            Assert.That(RoomRun(spool, T0,
                RoomEvent(EventKind.Joined, Alice, "alice", T0),
                RoomEvent(EventKind.Joined, Bob, "bob", T0, hidden: true),
                RoomEvent(EventKind.Joined, "carol@example.test", "carol", T0),
                RoomEvent(EventKind.Left, "carol@example.test", "carol", T0)), Is.EqualTo(new[] { Alice, "carol@example.test", $"{Room}/bob" }));
        using (var spool = OpenSpool())
            Assert.That(RoomRun(spool, T0.AddMinutes(61), RoomEvent(EventKind.Message, Alice, "alice", T0.AddMinutes(61))),
                Is.EqualTo(new[] { Alice, $"{Room}/bob" }), "bob, silent, is still known and told through the room; carol left");
        using (var spool = OpenSpool())
            Assert.That(RoomRun(spool, T0.AddDays(2), RoomEvent(EventKind.Message, Alice, "alice", T0.AddDays(2))), Is.EqualTo(new[] { Alice }),
                "a roster not heard from for a day is forgotten");
    }

    [Test]
    public void ABusyRoomCostsNoSpoolWritePerMessage()
    {
        using var spool = OpenSpool();
        var time = new FakeTimeProvider(T0);
        var notifier = new ArchiveNotifier(AliceLogged(), "archive.example.test", time);
        var log = new ContinuityLog(spool);
        notifier.UseContinuity(log);
        notifier.Observe([RoomEvent(EventKind.Joined, Alice, "alice", T0), RoomEvent(EventKind.Joined, Bob, "bob", T0)]);
        log.Flush();
        time.Advance(TimeSpan.FromMinutes(1));
        notifier.Observe([RoomEvent(EventKind.Message, Bob, "bob", T0), RoomEvent(EventKind.Message, Alice, "alice", T0)]);
        Assert.That(log.PendingCount, Is.Zero, "occupants already kept and told: nothing to write");
    }
}

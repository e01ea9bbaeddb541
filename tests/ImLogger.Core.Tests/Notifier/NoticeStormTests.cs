using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Notifier;
using ImLogger.Pipeline;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Notifier;

/// <summary>
/// Notice storms (issue 14): in a room of 200 occupants, 50 of them logged, a logged occupant whose client reconnects
/// (sign-out broadcast, the room's leave, a new session, the rejoin) re-notified all 200. A reconnect is not new activity.
/// Real pipeline (tap copies relayed by the server host, the classifier, the room roster, the notifier), real spool.
/// </summary>
public class NoticeStormTests
{
    private const string Room = "storm@conference.example.test";
    private const int Occupants = 200;
    private const int LoggedCount = 50;
    private string _dir = null!;
    private LiteDbSpool _spool = null!;
    private FakeTimeProvider _time = null!;
    private StanzaPipeline _pipeline = null!;

    private static string Occupant(int i) => i < LoggedCount ? $"u{i}@example.test" : $"u{i}@partner.test";

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("imlogger-storm-").FullName;
        _spool = new LiteDbSpool(Path.Combine(_dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        var config = new ImLoggerConfig
        {
            SourcePath = Path.Combine(_dir, "imlogger.xml"),
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = Path.Combine(_dir, "spool.db"),
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations = [new OrganizationConfig
            {
                Domains = ["example.test"], DefaultEndpoint = "local", Seats = LoggedCount,
                Users = Enumerable.Range(0, LoggedCount).Select(i => new LoggedUserConfig(Occupant(i), null)).ToList(),
            }],
            Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = _dir }],
        };
        var seats = new SeatLedger(() => config, _spool, _time, NullLogger<SeatLedger>.Instance);
        _pipeline = new StanzaPipeline(
            new EnvelopeDecoder(["example.test"], "archive.example.test", _time),
            new StanzaClassifier(seats.IsLogged),
            new CopyDeduplicator(TimeSpan.FromMinutes(1), _time),
            new ConversationTracker(_spool, seats.EndpointOf, config.IdleClose, _time, NullLogger<ConversationTracker>.Instance),
            new ArchiveNotifier(seats.OrganizationOf, "archive.example.test", _time),
            new CompliancePolicy(config.Restrictions, seats.OrganizationOf, new ClientRegistry("archive.example.test"), _spool),
            seats,
            new LateRefusals(_time),
            NullLogger<StanzaPipeline>.Instance);
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static XElement Copy(string inner) =>
        XElement.Parse($"<message xmlns='jabber:component:accept' from='example.test' to='archive.example.test'><forwarded xmlns='urn:xmpp:forward:0'>{inner}</forwarded></message>");

    /// <summary>The room's presence of occupant <paramref name="who"/>, as copied to logged occupant <paramref name="to"/>.</summary>
    private static XElement RoomPresence(int who, int to, bool leaving = false) => Copy(
        $"<presence xmlns='jabber:client' from='{Room}/n{who}' to='{Occupant(to)}/r'{(leaving ? " type='unavailable'" : "")}>" +
        $"<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='{(leaving ? "none" : "participant")}' jid='{Occupant(who)}/r'/>" +
        (who == to ? "<status code='110'/>" : "") + "</x></presence>");

    /// <summary>What a logged occupant's copies bring: the room's presence of <paramref name="who"/> to every logged occupant in the room.</summary>
    private static IEnumerable<XElement> ToEveryLogged(int who, bool leaving = false) =>
        Enumerable.Range(0, LoggedCount).Select(to => RoomPresence(who, to, leaving));

    private static XElement Broadcast(int who, string resource, bool unavailable) => Copy(
        $"<presence xmlns='jabber:client' from='{Occupant(who)}/{resource}'{(unavailable ? " type='unavailable'" : "")}/>");

    private static XElement Said(int who, int to, string id) => Copy(
        $"<message xmlns='jabber:client' from='{Room}/n{who}' to='{Occupant(to)}/r' type='groupchat' id='{id}'><body>hello</body></message>");

    /// <summary>Runs stanzas through the pipeline as the component would (classify, store); returns the notices to send.</summary>
    private List<XElement> Feed(IEnumerable<XElement> stanzas)
    {
        var (events, replies) = _pipeline.Classify(stanzas.ToList());
        _pipeline.Store(events);
        return replies.Where(r => ((string?)r.Attribute("id"))?.StartsWith("imlogger-notice-", StringComparison.Ordinal) == true).ToList();
    }

    /// <summary>A full room: everyone joined (the copies of logged occupants), then a message: every occupant is told
    /// exactly once (a joiner at their join once a logged occupant is in, the ones before at the first logged join).</summary>
    private void FullRoomToldOnce()
    {
        var told = Feed(Enumerable.Range(0, Occupants).SelectMany(who => who < LoggedCount ? ToEveryLogged(who).Take(who + 1) : [RoomPresence(who, 0)]));
        told.AddRange(Feed(Enumerable.Range(0, LoggedCount).Select(to => Said(60, to, "m1"))));
        var recipients = told.Select(s => (string?)s.Attribute("to")).ToList();
        Assert.That(recipients.Distinct().Count(), Is.EqualTo(Occupants), "every occupant is told");
        Assert.That(recipients, Has.Count.EqualTo(Occupants), "once");
    }

    private List<XElement> Reconnect(int who, int round)
    {
        var notices = new List<XElement>();
        notices.AddRange(Feed([Broadcast(who, $"s{round}", unavailable: true)]));
        notices.AddRange(Feed(ToEveryLogged(who, leaving: true)));
        _time.Advance(TimeSpan.FromSeconds(20));
        notices.AddRange(Feed([Broadcast(who, $"s{round + 1}", unavailable: false)]));
        notices.AddRange(Feed(ToEveryLogged(who)));
        _time.Advance(TimeSpan.FromSeconds(30));
        return notices;
    }

    [TestCase(0, TestName = "A logged occupant whose copies are the ones kept reconnecting five times notifies nobody")]
    [TestCase(7, TestName = "Another logged occupant reconnecting five times notifies nobody")]
    public void ALoggedOccupantReconnectingFiveTimesNotifiesNobody(int who)
    {
        FullRoomToldOnce();
        for (var round = 0; round < 5; round++)
            Assert.That(Reconnect(who, round).Select(s => (string?)s.Attribute("to")), Is.Empty, $"reconnect {round + 1}");
    }

    [Test]
    public void AGenuinelyNewOccupantIsToldOnceAndNobodyElse()
    {
        FullRoomToldOnce();
        Reconnect(7, 0);
        var told = Feed(Enumerable.Range(0, LoggedCount).Select(to => RoomPresence(Occupants + 1, to)));
        Assert.That(told.Select(s => (string?)s.Attribute("to")), Is.EqualTo(new[] { Occupant(Occupants + 1) }));
    }

    [Test]
    public void ALoggedUserFlappingAHundredTimesNotifiesNobody()
    {
        FullRoomToldOnce();
        var notices = 0;
        for (var round = 0; round < 100; round++)
        {
            // Sometimes the sign-out is seen, sometimes only the room's leave; never a new session's presence first.
            if (round % 2 == 0) notices += Feed([Broadcast(0, $"s{round}", unavailable: true)]).Count;
            notices += Feed(ToEveryLogged(0, leaving: true)).Count;
            _time.Advance(TimeSpan.FromSeconds(5));
            notices += Feed(ToEveryLogged(0)).Count;
            _time.Advance(TimeSpan.FromSeconds(5));
        }
        Assert.That(notices, Is.Zero);
    }

    [Test]
    public void ALoggedOccupantAwayLongerThanAReconnectStartsTheHourOver()
    {
        FullRoomToldOnce();
        Feed([Broadcast(7, "s0", unavailable: true)]);
        Feed(ToEveryLogged(7, leaving: true));
        _time.Advance(TimeSpan.FromMinutes(20));
        var told = Feed(ToEveryLogged(7)).Select(s => (string?)s.Attribute("to")).ToList();
        Assert.That(told.Distinct().Count(), Is.EqualTo(Occupants), "she signed out for real: the hour started over, as DESIGN.md says, and a join is activity");
        Assert.That(told, Has.Count.EqualTo(Occupants), "once each");
        Assert.That(Feed(Enumerable.Range(0, LoggedCount).Select(to => Said(60, to, "m2"))), Is.Empty,
            "the next message is within the new hour");
    }
}

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
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Pipeline;

/// <summary>Trust only the server: a verdict request (held stanzas, gap and refusal reports) counts only when it comes
/// from a configured server host, the one address no client can send from. Real pipeline, real spool in a temp file.</summary>
public class StanzaPipelineTrustTests
{
    /// <summary>Keeps every log line, to assert on what the operator reads.</summary>
    private sealed class ListLogger<T> : ILogger<T>
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    private string _dir = null!;
    private LiteDbSpool _spool = null!;
    private StanzaPipeline _pipeline = null!;
    private ListLogger<StanzaPipeline> _log = null!;
    private CompliancePolicy _policy = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("imlogger-trust-").FullName;
        _spool = new LiteDbSpool(Path.Combine(_dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        var config = new ImLoggerConfig
        {
            SourcePath = Path.Combine(_dir, "imlogger.xml"),
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = Path.Combine(_dir, "spool.db"),
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations = [new OrganizationConfig
            {
                // Logged by default: every sender the server vouches for takes a seat, so a forged item would take one.
                Domains = ["example.test"], DefaultEndpoint = "local", Seats = 10, LoggedByDefault = true,
                Users = [new LoggedUserConfig("alice@example.test", null), new LoggedUserConfig("ceo@example.test", null)],
            }],
            Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = _dir }],
        };
        var seats = new SeatLedger(() => config, _spool, time, NullLogger<SeatLedger>.Instance);
        _log = new ListLogger<StanzaPipeline>();
        _policy = new CompliancePolicy(config.Restrictions, seats.OrganizationOf, new ClientRegistry("archive.example.test"), _spool);
        _pipeline = new StanzaPipeline(
            new EnvelopeDecoder(["example.test"], "archive.example.test", time),
            new StanzaClassifier(seats.IsLogged),
            new CopyDeduplicator(TimeSpan.FromMinutes(1), time),
            new ConversationTracker(_spool, seats.EndpointOf, config.IdleClose, time, NullLogger<ConversationTracker>.Instance),
            new ArchiveNotifier(seats.OrganizationOf, "archive.example.test", time),
            _policy,
            seats,
            new LateRefusals(time),
            _log);
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static XElement Request(string? from, string id, string batch) => XElement.Parse($"""
        <iq xmlns='jabber:component:accept' type='set' id='{id}' {(from == null ? "" : $"from='{from}'")} to='archive.example.test'>
          <batch xmlns='urn:imlogger:inline:0'>{batch}</batch>
        </iq>
        """);

    private const string HelloBob = """
        <item id='1' direction='out' user='alice@example.test' to-local='true'>
          <message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test' type='chat' id='m1'><body>hello bob</body></message>
        </item>
        """;

    private const string ForgedGap = "<gap user='ceo@example.test' count='4242' since='x' until='y'/>";

    [TestCase("mallory@example.test/laptop", TestName = "A user of the host")]
    [TestCase("mallory@example.test", TestName = "A bare user JID of the host")]
    [TestCase("example.test/forged", TestName = "The host with a resource")]
    [TestCase("alice@example.test/laptop", TestName = "A logged user")]
    [TestCase("partner.test", TestName = "A server that is not configured")]
    [TestCase("conference.example.test", TestName = "A service of the host")]
    [TestCase(null, TestName = "No from at all")]
    public void ARequestFromAnyoneButAConfiguredHostHasNoEffectButAnErrorAndAWarning(string? sender)
    {
        var mallorysItem = "<item id='2' direction='out' user='mallory@example.test' to-local='true'><message xmlns='jabber:client' from='mallory@example.test/x' to='bob@example.test' type='chat'><body>seat me</body></message></item>";
        var (events, replies) = _pipeline.Classify([Request(sender, "forged-1", HelloBob + mallorysItem + ForgedGap + "<refused request='imlogger-1' count='1'/>")]);
        Assert.Multiple(() =>
        {
            Assert.That(events, Is.Empty, "nothing archived, nothing refused, no notice");
            Assert.That(_log.Lines.Any(l => l.Text.Contains("GAP", StringComparison.Ordinal)), Is.False, "no gap logged");
            Assert.That(_spool.SeenUsers(), Is.Empty, "no seat taken");
            var reply = replies.Single();
            Assert.That((string?)reply.Attribute("type"), Is.EqualTo("error"));
            Assert.That((string?)reply.Attribute("id"), Is.EqualTo("forged-1"));
            Assert.That(reply.Element(Ns.Component + "error")!.Element(Ns.Stanzas + "forbidden"), Is.Not.Null);
            Assert.That(reply.Descendants(InlineRequest.Ns + "verdicts"), Is.Empty, "no verdict: the module would act on it");
            var warning = _log.Lines.Single(l => l.Level == LogLevel.Warning);
            Assert.That(warning.Text, Does.Contain(sender ?? "(no from)").And.Contain("not a configured server host"));
        });
    }

    [Test]
    public void TheHostItselfIsHeard()
    {
        var (events, replies) = _pipeline.Classify([Request("example.test", "imlogger-1", HelloBob + ForgedGap)]);
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(e => e.Text), Does.Contain("hello bob"));
            Assert.That(replies[0].Descendants(InlineRequest.Ns + "allow").Single().Attribute("item")!.Value, Is.EqualTo("1"));
            Assert.That(_log.Lines.Single(l => l.Text.StartsWith("GAP:", StringComparison.Ordinal)).Text, Does.Contain("4242").And.Contain("ceo@example.test"));
        });
    }

    [Test]
    public void AUserCannotSendTheServersSeatsChanged()
    {
        var (events, replies) = _pipeline.Classify([XElement.Parse(
            "<iq xmlns='jabber:component:accept' type='set' id='s1' from='mallory@example.test/x' to='archive.example.test'><seats-changed xmlns='urn:imlogger:inline:0'/></iq>")]);
        Assert.That(events, Is.Empty);
        Assert.That(replies.Single().Element(Ns.Component + "error")!.Element(Ns.Stanzas + "service-unavailable"), Is.Not.Null, "nothing here takes it");
    }

    [Test]
    public void AForgedRefusalReportCannotMarkArchivedMessagesUndelivered()
    {
        _pipeline.Classify([Request("example.test", "imlogger-1", HelloBob)]);
        var (forged, _) = _pipeline.Classify([Request("mallory@example.test/x", "f", "<refused request='imlogger-1' count='1' reason='forged'/>")]);
        Assert.That(forged, Is.Empty, "a user cannot turn alice's delivered message into NOT DELIVERED");
        var (genuine, _) = _pipeline.Classify([Request("example.test", "imlogger-2", "<refused request='imlogger-1' count='1' reason='no answer within 10 s'/>")]);
        Assert.That(genuine.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Refused }), "the server's own report still counts (the forged one did not use it up)");
    }

    [Test]
    public void AVersionReplyFromAnotherSessionIsNotTaken()
    {
        // alice's presence makes the component ask her session; mallory answers in her place with the query's id.
        var presence = "<item id='1' direction='out' user='alice@example.test' to-local='true'><presence xmlns='jabber:client' from='alice@example.test/laptop'/></item>";
        var (_, replies) = _pipeline.Classify([Request("example.test", "imlogger-1", presence)]);
        var query = replies.Single(r => r.Descendants(XName.Get("query", "jabber:iq:version")).Any());
        XElement Reply(string from, string name) => XElement.Parse(
            $"<iq xmlns='jabber:component:accept' type='result' id='{query.Attribute("id")!.Value}' from='{from}' to='archive.example.test'><query xmlns='jabber:iq:version'><name>{name}</name><version>0.1</version></query></iq>");
        _pipeline.Classify([Reply("mallory@example.test/x", "EvilClient")]);
        var clients = _policy.Clients!;
        Assert.That(clients.Get("alice@example.test/laptop")!.Answered, Is.False, "mallory's answer is not alice's");
        _pipeline.Classify([Reply("alice@example.test/laptop", "Conversations")]);
        Assert.That(clients.Get("alice@example.test/laptop")!.Name, Is.EqualTo("Conversations"));
    }
}

using ImLogger.Config;
using ImLogger.Liveness;
using ImLogger.ServerRules;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Liveness;

public class AdapterWatchTests
{
    private static ImLoggerConfig Config(AttachMode mode = AttachMode.Inline, params string[] users) => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Attach = new AttachSettings { Mode = mode },
        Organizations =
        [
            new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local",
                Users = (users.Length == 0 ? ["alice@example.test"] : users).Select(u => new LoggedUserConfig(u, null)).ToList() },
            new OrganizationConfig { Domains = ["partner.test"], DefaultEndpoint = "local", Users = [new LoggedUserConfig("erin@partner.test", null)] },
        ],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    private sealed class World
    {
        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        public ImLoggerConfig Config { get; set; }
        public AdapterWatch Watch { get; }

        public World(ImLoggerConfig config)
        {
            Config = config;
            Watch = new AdapterWatch(() => Config, Time);
        }

        public bool Alive(string domain, string? generation = null) =>
            Watch.Observe(new AdapterSign(domain, generation ?? RulesGeneration.Of(Config), "test"));

        public AdapterStatus Status(string domain) => Watch.Check().Single(s => s.Domain == domain);
    }

    [Test]
    public void NotConnectedIsOneProblem()
    {
        var world = new World(Config());
        var statuses = world.Watch.Check();
        Assert.That(statuses, Has.Count.EqualTo(1));
        Assert.That(statuses[0].Healthy, Is.False);
        Assert.That(statuses[0].Text, Does.Contain("not connected"));
    }

    [Test]
    public void ADomainThatNeverAnswersIsAProblemOnlyAfterTheDeadline()
    {
        var world = new World(Config());
        world.Watch.Connected();
        world.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.That(world.Status("example.test").Healthy, Is.True, "within its first 60 s");
        Assert.That(world.Status("example.test").Text, Does.Contain("waiting"));
        world.Time.Advance(TimeSpan.FromSeconds(2));
        var status = world.Status("example.test");
        Assert.That(status.Healthy, Is.False);
        Assert.That(status.Text, Does.StartWith("example.test: no heartbeat from mod_imlogger_inline for 61 s")
            .And.Contain("modules_enabled").And.Contain("\"imlogger_inline\"").And.Contain("prosodyctl reload"));
    }

    [Test]
    public void EachDomainIsJudgedOnItsOwn()
    {
        var world = new World(Config());
        world.Watch.Connected();
        world.Time.Advance(TimeSpan.FromSeconds(50));
        Assert.That(world.Alive("example.test"), Is.True, "the first sign is worth a line");
        Assert.That(world.Alive("example.test"), Is.False, "the next ones are not");
        world.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.That(world.Status("example.test").Healthy, Is.True);
        Assert.That(world.Status("partner.test").Healthy, Is.False);
        Assert.That(world.Status("partner.test").Text, Does.StartWith("partner.test: "));
    }

    [Test]
    public void ADomainThatStopsAnsweringIsAProblemADeadlineAfterItsLastHeartbeat()
    {
        var world = new World(Config(AttachMode.Tap));
        world.Watch.Connected();
        world.Alive("example.test");
        world.Time.Advance(TimeSpan.FromSeconds(60));
        Assert.That(world.Status("example.test").Healthy, Is.True);
        world.Time.Advance(TimeSpan.FromSeconds(1));
        var status = world.Status("example.test");
        Assert.That(status.Healthy, Is.False);
        Assert.That(status.Text, Does.Contain("stopped answering 61 s ago").And.Contain("\"firewall\""));
    }

    [Test]
    public void RulesOfAnotherConfigAreNotCurrent()
    {
        var world = new World(Config());
        world.Watch.Connected();
        world.Time.Advance(TimeSpan.FromSeconds(61));
        world.Alive("example.test", generation: "0123456789ab");
        var status = world.Status("example.test");
        Assert.That(status.Healthy, Is.False);
        Assert.That(status.Text, Does.Contain("rules of another config (generation 0123456789ab, expected " + RulesGeneration.Of(world.Config) + ")"));
    }

    [Test]
    public void AReloadThatChangesTheRulesStartsANewDeadline()
    {
        var world = new World(Config());
        world.Watch.Connected();
        world.Alive("example.test");
        world.Time.Advance(TimeSpan.FromSeconds(30));
        world.Config = Config(AttachMode.Inline, "alice@example.test", "bob@example.test");
        Assert.That(world.Status("example.test").Healthy, Is.True, "the operator has a deadline to reload Prosody");
        world.Time.Advance(TimeSpan.FromSeconds(30));
        world.Alive("example.test", generation: RulesGeneration.Of(Config()));  // Prosody still runs the old rules
        world.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.That(world.Status("example.test").Text, Does.Contain("rules of another config"));
        Assert.That(world.Alive("example.test"), Is.True, "prosodyctl reload: the new rules answer");
        Assert.That(world.Status("example.test").Healthy, Is.True);
    }

    [Test]
    public void SignsOfAnEarlierStreamDoNotCountAfterAReconnect()
    {
        var world = new World(Config());
        world.Watch.Connected();
        world.Alive("example.test");
        world.Watch.Disconnected();
        Assert.That(world.Watch.Check().Single().Text, Does.Contain("not connected"));
        world.Time.Advance(TimeSpan.FromSeconds(10));
        world.Watch.Connected();
        world.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.That(world.Status("example.test").Text, Does.Contain("no heartbeat"), "a Prosody restarted without the module is found out");
    }

    [Test]
    public void TheDeadlineIsTwoHeartbeats()
    {
        var world = new World(Config() with { Attach = new AttachSettings { Mode = AttachMode.Inline, Heartbeat = TimeSpan.FromSeconds(1) } });
        world.Watch.Connected();
        world.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(world.Status("example.test").Healthy, Is.True);
        world.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(world.Status("example.test").Healthy, Is.False);
    }
}

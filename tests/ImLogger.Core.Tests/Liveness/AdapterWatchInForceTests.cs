using ImLogger.Config;
using ImLogger.Liveness;
using ImLogger.ServerRules;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Liveness;

/// <summary>
/// A config reloaded with a new user is only configured until the server side reports the new generation (issue 19):
/// <see cref="AdapterWatch.State"/> and <see cref="AdapterWatch.NotInForce"/> say "waiting" meanwhile, name the user the
/// server misses once the deadline passes, and say in force once the heartbeat with the new generation arrives.
/// </summary>
public class AdapterWatchInForceTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("imlogger-watch-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private ImLoggerConfig Config(params string[] users)
    {
        var path = Path.Combine(_dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" host="127.0.0.1" port="5347" secret-env="S" />
              <attach mode="inline" heartbeat="1s" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="dir" seats="10">
                {string.Concat(users.Select(u => $"<user jid=\"{u}@example.test\" />"))}
              </organization>
              <endpoints><directory name="dir" path="archive" /></endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, _ => "secret");
    }

    [Test]
    public void AnAddedUserWaitsForTheServerSideThenIsInForce()
    {
        var clock = new FakeTimeProvider();
        var config = Config("alice");
        var watch = new AdapterWatch(() => config, clock);
        watch.Connected();
        Assert.That(watch.Observe(new AdapterSign("example.test", RulesGeneration.Of(config), "test")), Is.True);
        var old = RulesGeneration.Of(config);
        Assert.That(watch.State().InForce, Is.True);

        config = Config("alice", "carol");
        var state = watch.State();
        Assert.That(state.InForce, Is.False);
        Assert.That(state.ToString(), Is.EqualTo($"configured, waiting for the server side (generation {RulesGeneration.Of(config)}, server has {old})"));
        Assert.That(watch.NotInForce("carol@example.test"), Does.StartWith("configured, waiting for the server side"));
        Assert.That(watch.NotInForce("alice@example.test"), Is.Null, "the old list holds alice");

        // The old generation keeps coming past the deadline: stale, naming carol.
        clock.Advance(TimeSpan.FromSeconds(3));
        watch.Observe(new AdapterSign("example.test", old, "test"));
        var problem = watch.Check().Single();
        Assert.That(problem.Healthy, Is.False);
        Assert.That(problem.Text, Does.Contain("STALE USER LIST").And.Contain("not held there yet: carol@example.test"));

        Assert.That(watch.Observe(new AdapterSign("example.test", RulesGeneration.Of(config), "test")), Is.True, "the first sign of the new rules is news");
        Assert.That(watch.State().InForce, Is.True);
        Assert.That(watch.NotInForce("carol@example.test"), Is.Null);
        Assert.That(watch.Check().Single().Healthy, Is.True);
    }

    [Test]
    public void ASignOfAnUnknownGenerationNamesNobodyAndHoldsNobody()
    {
        var clock = new FakeTimeProvider();
        var config = Config("alice");
        var watch = new AdapterWatch(() => config, clock);
        watch.Connected();
        // A generation no config of this process had (rules written from an edited copy): nobody can be assumed held.
        watch.Observe(new AdapterSign("example.test", "0123456789ab", "test"));
        Assert.That(watch.NotInForce("alice@example.test"), Does.Contain("server has 0123456789ab"));
        clock.Advance(TimeSpan.FromSeconds(3));
        watch.Observe(new AdapterSign("example.test", "0123456789ab", "test"));
        Assert.That(watch.Check().Single().Text, Does.Contain("STALE USER LIST").And.Not.Contain("not held there yet"));
    }
}

using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary><c>&lt;failover role="…" instance="…" retry="…"/&gt;</c>: absent, values, clear errors, restart to change.</summary>
public class FailoverConfigTests : TempDirFixture
{
    private ImLoggerConfig Load(string failover)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              {failover}
              <organization domain="example.test" endpoint="local" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints><directory name="local" path="archive" /></endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);
    }

    [Test]
    public void AbsentItIsASingleInstance() => Assert.That(Load("").Failover, Is.Null);

    [Test]
    public void AStandbyIsRead()
    {
        var failover = Load("""<failover role="Standby" instance="archive-b" retry="0.5s" />""").Failover!;
        Assert.That((failover.Role, failover.Instance, failover.Retry), Is.EqualTo((FailoverRole.Standby, "archive-b", TimeSpan.FromSeconds(0.5))));
    }

    [Test]
    public void DefaultsAreActiveTheHostNameAndTwoSeconds()
    {
        var failover = Load("<failover />").Failover!;
        Assert.That((failover.Role, failover.Instance, failover.Retry), Is.EqualTo((FailoverRole.Active, Environment.MachineName, TimeSpan.FromSeconds(2))));
    }

    [TestCase("""<failover role="backup" />""", "role must be active or standby")]
    [TestCase("""<failover retry="0.1s" />""", "retry must be between 0.5s and 1m")]
    [TestCase("""<failover retry="5m" />""", "retry must be between 0.5s and 1m")]
    [TestCase("""<failover instance="" />""", "instance must be a short name")]
    [TestCase("""<failover peer="a" />""", "<failover> has no attribute 'peer'")]
    [TestCase("""<failover /><failover />""", "failover")]
    public void BadValuesAreErrorsSayingWhatToWrite(string element, string problem) =>
        Assert.That(Assert.Throws<ConfigException>(() => Load(element))!.Message, Does.Contain(problem));

    [Test]
    public void ChangingItNeedsARestart()
    {
        var running = Load("""<failover role="standby" instance="b" />""");
        var next = Load("""<failover role="active" instance="b" />""");
        Assert.That(ConfigHolder.NeedsRestart(running, next), Does.Contain("<failover>"));
        Assert.That(ConfigHolder.NeedsRestart(running, Load("""<failover role="standby" instance="b" />""")), Is.Null);
    }
}

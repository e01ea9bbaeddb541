using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary><c>&lt;endpoints retry-for="…"&gt;</c>: how long an endpoint may be down before its transcripts become dead
/// letters (issue 19: an SMTP outage of a few hours turned everything dead). Default, values, bounds, restart.</summary>
public class RetryForConfigTests : TempDirFixture
{
    private ImLoggerConfig Load(string endpointsAttributes)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="local" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints {endpointsAttributes}><directory name="local" path="archive" /></endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);
    }

    [Test]
    public void AbsentItIsSevenDays() => Assert.That(Load("").RetryFor, Is.EqualTo(TimeSpan.FromDays(7)));

    [TestCase("retry-for=\"3d\"", 72.0)]
    [TestCase("retry-for=\"1h\"", 1.0)]
    [TestCase("retry-for=\"30d\"", 720.0)]
    [TestCase("retry-for=\" 1d12h \"", 36.0)]
    public void ValuesAreRead(string attribute, double hours) =>
        Assert.That(Load(attribute).RetryFor, Is.EqualTo(TimeSpan.FromHours(hours)));

    [TestCase("retry-for=\"10m\"", "retry-for must be between 1h and 366d")]
    [TestCase("retry-for=\"400d\"", "retry-for must be between 1h and 366d")]
    [TestCase("retry-for=\"forever\"", "retry-for")]
    [TestCase("retry-for=\"\"", "retry-for")]
    public void BadValuesAreErrorsNamingTheLine(string attribute, string problem)
    {
        var message = Assert.Throws<ConfigException>(() => Load(attribute))!.Message;
        Assert.That(message, Does.Contain(problem).And.Contain("imlogger.xml:6"));
    }

    [Test]
    public void ChangingItNeedsARestart()
    {
        var restart = ConfigHolder.NeedsRestart(Load(""), Load("retry-for=\"2d\""));
        Assert.That(restart, Does.Contain("<endpoints retry-for>"));
        Assert.That(ConfigHolder.NeedsRestart(Load("retry-for=\"7d\""), Load("")), Is.Null, "7d written out is the default");
    }
}

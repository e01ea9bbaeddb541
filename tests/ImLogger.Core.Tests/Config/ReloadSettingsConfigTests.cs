using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary><c>&lt;reload settle="…" confirm-drops-after="…|never"/&gt;</c>: defaults, values, and clear errors.</summary>
public class ReloadSettingsConfigTests : TempDirFixture
{
    private ImLoggerConfig Load(string reload)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              {reload}
              <organization domain="example.test" endpoint="local" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints><directory name="local" path="archive" /></endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);
    }

    [Test]
    public void AbsentItSettlesOneSecondAndConfirmsDropsAfterThirty()
    {
        var reload = Load("").Reload;
        Assert.That(reload.Settle, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(reload.ConfirmDropsAfter, Is.EqualTo(TimeSpan.FromSeconds(30)));
    }

    [TestCase("<reload settle=\"0.3s\" confirm-drops-after=\"5m\" />", 0.3, 300.0)]
    [TestCase("<reload confirm-drops-after=\"Never\" />", 1.0, null)]
    [TestCase("<reload settle=\"2s\" />", 2.0, 30.0)]
    public void ValuesAreRead(string element, double settle, double? confirm)
    {
        var reload = Load(element).Reload;
        Assert.That(reload.Settle, Is.EqualTo(TimeSpan.FromSeconds(settle)));
        Assert.That(reload.ConfirmDropsAfter, Is.EqualTo(confirm is { } c ? TimeSpan.FromSeconds(c) : (TimeSpan?)null));
    }

    [TestCase("<reload settle=\"5m\" />", "settle must be between 0.1s and 1m")]
    [TestCase("<reload settle=\"0.01s\" />", "settle must be between 0.1s and 1m")]
    [TestCase("<reload settle=\"5s\" confirm-drops-after=\"2s\" />", "at least settle")]
    [TestCase("<reload confirm-drops-after=\"later\" />", "confirm-drops-after must be a duration such as 30s or 5m")]
    [TestCase("<reload settle=\"1s\" hold=\"yes\" />", "<reload> has no attribute 'hold'")]
    public void BadValuesAreErrorsSayingWhatToWrite(string element, string problem) =>
        Assert.That(Assert.Throws<ConfigException>(() => Load(element))!.Message, Does.Contain(problem));

    [Test]
    public void ChangingItNeedsNoRestart()
    {
        var running = Load("");
        var next = Load("<reload confirm-drops-after=\"never\" />");
        Assert.That(ConfigHolder.NeedsRestart(running, next), Is.Null);
    }
}

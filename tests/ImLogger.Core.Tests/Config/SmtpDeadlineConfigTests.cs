using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary>The SMTP endpoints' <c>deadline</c> (issue 14): configured, defaulted from timeout and message size, refused when
/// not a duration.</summary>
public class SmtpDeadlineConfigTests : TempDirFixture
{
    private SmtpEndpointConfig Load(string attributes)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="e" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints>
                <secure-smtp name="e" host="smtp.example.com" from="a@example.com" to="b@example.com" {attributes} />
              </endpoints>
            </imlogger>
            """);
        return (SmtpEndpointConfig)ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null).Endpoints.Single();
    }

    [Test]
    public void Configured_IsTheSameForEveryStep()
    {
        var e = Load("""deadline="90s" """);
        Assert.That(e.DeadlineFor(0), Is.EqualTo(TimeSpan.FromSeconds(90)));
        Assert.That(e.DeadlineFor(100_000_000), Is.EqualTo(TimeSpan.FromSeconds(90)));
    }

    [Test]
    public void Default_IsTwiceTheTimeoutPlusTheMessageAt128KiBPerSecond()
    {
        var e = Load("""timeout="30s" """);
        Assert.That(e.Deadline, Is.Null);
        Assert.That(e.DeadlineFor(0), Is.EqualTo(TimeSpan.FromSeconds(60)));
        Assert.That(e.DeadlineFor(10 * 128 * 1024), Is.EqualTo(TimeSpan.FromSeconds(70)));
    }

    [Test]
    public void NotADuration_IsRefusedWithTheAttributeNamed()
    {
        var ex = Assert.Throws<ConfigException>(() => Load("""deadline="soon" """))!;
        Assert.That(ex.Message, Does.Contain("deadline must be a positive duration"));
    }
}

using ImLogger.Config;

namespace ImLogger.Tests.Config;

public class ConfigLoaderTests : TempDirFixture
{
    private const string Valid = """
        <?xml version="1.0" encoding="utf-8"?>
        <imlogger>
          <component jid="archive.example.test" host="127.0.0.1" port="5347" secret-env="SECRET" />
          <spool path="spool/spool.db" />
          <transcripts idle-close="10m" />
          <organization domain="example.test" endpoint="local" seats="10">
            <user jid="Alice@Example.test" />
            <user jid="bob@example.test" endpoint="other" />
          </organization>
          <endpoints>
            <directory name="local" path="archive" />
            <directory name="other" path="/var/lib/imlogger/other" />
          </endpoints>
        </imlogger>
        """;

    private string Write(string xml, string name = "imlogger.xml")
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, xml);
        return path;
    }

    private static ImLoggerConfig Load(string path) => ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);

    [Test]
    public void ValidConfigResolvesUsersEndpointsAndPaths()
    {
        var config = Load(Write(Valid));
        Assert.Multiple(() =>
        {
            Assert.That(config.Component.Secret, Is.EqualTo("s3cret"));
            Assert.That(config.Component.ToString(), Does.Not.Contain("s3cret"));
            Assert.That(config.SpoolPath, Is.EqualTo(Path.Combine(Dir, "spool", "spool.db")));
            Assert.That(config.IdleClose, Is.EqualTo(TimeSpan.FromMinutes(10)));
            Assert.That(config.LoggedUsers, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["alice@example.test"] = "local",
                ["bob@example.test"] = "other",
            }));
            Assert.That(((DirectoryEndpointConfig)config.Endpoints[0]).Path, Is.EqualTo(Path.Combine(Dir, "archive")));
        });
    }

    [Test]
    public void TheShippedConfigIsValid()
    {
        var shipped = Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../../config/imlogger.xml");
        var config = ConfigLoader.Load(shipped, _ => "demo");
        Assert.That(config.LoggedUsers.Keys, Does.Contain("alice@example.test"));
        // rules-out on by default (issue 19), pointing at the folder the demo's Prosody includes (imlogger.sh run_demo).
        Assert.That(config.Attach.RulesOut?.Replace('\\', '/'), Does.EndWith("/.work/demo/prosody/server-rules"));
    }

    [TestCase("<user jid=\"Alice@Example.test\" />", "<loged-user jid=\"Alice@Example.test\" />", 7, "unknown element <loged-user> inside <organization>; expected one of: <user>")]
    [TestCase("port=\"5347\"", "port=\"53x7\"", 3, "port must be a whole number from 1 to 65535, not '53x7'")]
    [TestCase("endpoint=\"other\"", "endpoint=\"gr-main\"", 8, "endpoint 'gr-main' referenced by user 'bob@example.test' is not defined; defined endpoints: 'local', 'other'")]
    [TestCase("name=\"other\"", "name=\"local\"", 12, "endpoint name 'local' is already used at line 11")]
    [TestCase("bob@example.test\" endpoint", "alice@example.test\" endpoint", 8, "user 'alice@example.test' is listed twice (first at line 7)")]
    [TestCase("idle-close=\"10m\"", "idle-close=\"ten minutes\"", 5, "idle-close must be a positive duration")]
    [TestCase("secret-env=\"SECRET\"", "secret-env=\"MISSING\"", 3, "environment variable MISSING, which is not set or empty")]
    [TestCase("secret-env=\"SECRET\"", "secret=\"inline\"", 3, "the secret must not be written in the config itself")]
    [TestCase("bob@example.test\" endpoint", "bob@elsewhere.test\" endpoint", 8, "not in the organization's domain 'example.test'")]
    [TestCase("<spool path=\"spool/spool.db\" />", "", 1, "<imlogger> needs a <spool> element")]
    [TestCase("</endpoints>", "</endpoint>", 13, "not well-formed XML")]
    [TestCase("name=\"local\"", "name=\"my archive\"", 11, "must not contain spaces")]
    public void BrokenConfigNamesFileLineAndProblem(string from, string to, int line, string problem)
    {
        var path = Write(Valid.Replace(from, to));
        var e = Assert.Throws<ConfigException>(() => Load(path))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Message, Does.StartWith($"{path}:{e.Line}:"));
            Assert.That(e.Line, Is.EqualTo(line == 1 ? e.Line : line));
            Assert.That(e.Problem, Does.Contain(problem));
        });
    }

    [Test]
    public void EntityExpansionIsRefused()
    {
        var path = Write("""
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <imlogger>&lol2;</imlogger>
            """);
        var e = Assert.Throws<ConfigException>(() => Load(path))!;
        Assert.That(e.Problem, Does.Contain("DTDs and entity declarations are not allowed"));
        Assert.That(e.Line, Is.EqualTo(2));
    }

    [Test]
    public void MissingFileSaysWhereItLooked()
    {
        var e = Assert.Throws<ConfigException>(() => Load(Path.Combine(Dir, "nope.xml")))!;
        Assert.That(e.Message, Does.Contain("does not exist"));
    }

    [Test]
    public void SecretFromAFileIsTrimmed()
    {
        File.WriteAllText(Path.Combine(Dir, "secret"), "from-file\n");
        var config = Load(Write(Valid.Replace("secret-env=\"SECRET\"", "secret-file=\"secret\"")));
        Assert.That(config.Component.Secret, Is.EqualTo("from-file"));
        Assert.That(config.Component.SecretSource, Does.Contain(Path.Combine(Dir, "secret")));
    }

    [Test]
    public void NotificationsDefaultToOnWithTheDefaultText()
    {
        var org = Load(Write(Valid)).Organizations[0];
        Assert.That(org.Notifications, Is.EqualTo(new NotificationSettings()));
        Assert.That(org.Notifications.Text, Does.StartWith("All instant messages sent in this session to and from this account"));
    }

    [Test]
    public void NotificationSwitchesAndCustomText()
    {
        var org = Load(Write(Valid.Replace("<user jid=\"Alice", "<notifications inside=\"off\" outside=\"on\">\n  Acme   logs\n this chat.\n</notifications>\n<user jid=\"Alice"))).Organizations[0];
        Assert.That(org.Notifications, Is.EqualTo(new NotificationSettings { NotifyInside = false, NotifyOutside = true, Text = "Acme logs this chat." }));
    }

    [Test]
    public void CustomTextOver500CharactersIsAClearError()
    {
        var path = Write(Valid.Replace("<user jid=\"Alice", $"<notifications>{new string('x', 501)}</notifications>\n<user jid=\"Alice"));
        var e = Assert.Throws<ConfigException>(() => Load(path))!;
        Assert.That(e.Problem, Does.Contain("501 characters; at most 500"));
        Assert.That(e.Line, Is.EqualTo(7));
    }

    [Test]
    public void NotificationSwitchMustBeOnOrOff()
    {
        var path = Write(Valid.Replace("<user jid=\"Alice", "<notifications inside=\"maybe\"/><user jid=\"Alice"));
        var e = Assert.Throws<ConfigException>(() => Load(path))!;
        Assert.That(e.Problem, Is.EqualTo("inside must be on or off, not 'maybe'"));
    }

    [Test]
    public void AttachDefaultsToInlineFailClosedAndReadsInlineSettings()
    {
        // Inline fail-closed when the element, or its mode, is absent: tap only when chosen (issue 16).
        Assert.That(Load(Write(Valid)).Attach, Is.EqualTo(new AttachSettings { Mode = AttachMode.Inline, FailureMode = FailureMode.Closed, Timeout = TimeSpan.FromSeconds(10) }));
        Assert.That(Load(Write(Valid.Replace("<spool ", "<attach timeout=\"20s\" />\n  <spool "))).Attach.Mode, Is.EqualTo(AttachMode.Inline));
        Assert.That(Load(Write(Valid.Replace("<spool ", "<attach mode=\"tap\" />\n  <spool "))).Attach.Mode, Is.EqualTo(AttachMode.Tap));
        var inline = Load(Write(Valid.Replace("<spool ", "<attach mode=\"inline\" failure-mode=\"open\" timeout=\"3s\" />\n  <spool "))).Attach;
        Assert.That(inline, Is.EqualTo(new AttachSettings { Mode = AttachMode.Inline, FailureMode = FailureMode.Open, Timeout = TimeSpan.FromSeconds(3) }));
    }

    [Test]
    public void TheHeartbeatIsThirtySecondsUnlessSetAndTheDeadlineTwoOfThem()
    {
        Assert.That(Load(Write(Valid)).Attach.AliveDeadline, Is.EqualTo(TimeSpan.FromSeconds(60)));
        var fast = Load(Write(Valid.Replace("<spool ", "<attach mode=\"tap\" heartbeat=\"1s\" />\n  <spool "))).Attach;
        Assert.That(fast.Heartbeat, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(fast.AliveDeadline, Is.EqualTo(TimeSpan.FromSeconds(2)));
    }

    [TestCase("<attach mode=\"inlin\" />", "mode must be tap or inline, not 'inlin'")]
    [TestCase("<attach mode=\"tap\" failure-mode=\"open\" />", "failure-mode applies to inline mode only")]
    [TestCase("<attach heartbeat=\"10m\" />", "heartbeat must be between 1s and 5m")]
    [TestCase("<attach heartbeat=\"soon\" />", "heartbeat must be a positive duration")]
    [TestCase("<restrictions><encrypted-room jid=\"room\" /></restrictions>", "'room' is not a room's bare JID")]
    public void AttachAndRestrictionErrors(string element, string problem)
    {
        var path = Write(Valid.Replace("<spool ", element + "\n  <spool "));
        var e = Assert.Throws<ConfigException>(() => Load(path))!;
        Assert.That(e.Problem, Does.Contain(problem));
        Assert.That(e.Line, Is.EqualTo(4));
    }

    [Test]
    public void ApprovedClientsAreRead()
    {
        var org = Load(Write(Valid.Replace("<user jid=\"Alice", "<approved-clients><client name=\"Conversations\" caps-node=\"http://conversations.im\" min-version=\"2.12\" /><client name=\"Gajim\" /></approved-clients>\n<user jid=\"Alice"))).Organizations[0];
        Assert.That(org.ApprovedClients, Is.EqualTo(new[]
        {
            new ApprovedClient("Conversations", "http://conversations.im", new Version(2, 12)),
            new ApprovedClient("Gajim", null, null),
        }));
        var bad = Write(Valid.Replace("<user jid=\"Alice", "<approved-clients><client min-version=\"x\" /></approved-clients>\n<user jid=\"Alice"));
        Assert.That(Assert.Throws<ConfigException>(() => Load(bad))!.Problem, Does.Contain("needs a name"));
    }

    [Test]
    public void ApprovedClientsAnswerWithinIsReadAndBounded()
    {
        Assert.That(Load(Write(Valid)).Organizations[0].ClientAnswerWithin, Is.EqualTo(TimeSpan.FromSeconds(10)), "the default");
        var org = Load(Write(Valid.Replace("<user jid=\"Alice", "<approved-clients answer-within=\"3s\"><client name=\"Gajim\" /></approved-clients>\n<user jid=\"Alice"))).Organizations[0];
        Assert.That(org.ClientAnswerWithin, Is.EqualTo(TimeSpan.FromSeconds(3)));
        var tooLong = Write(Valid.Replace("<user jid=\"Alice", "<approved-clients answer-within=\"10m\"><client name=\"Gajim\" /></approved-clients>\n<user jid=\"Alice"));
        Assert.That(Assert.Throws<ConfigException>(() => Load(tooLong))!.Problem, Does.Contain("answer-within must be between 1s and 2m"));
    }

    [Test]
    public void OrganizationTimeZone()
    {
        var org = Load(Write(Valid.Replace("<organization domain=\"example.test\"", "<organization time-zone=\"Europe/Berlin\" domain=\"example.test\""))).Organizations[0];
        Assert.That(org.TimeZone!.Id, Is.EqualTo("Europe/Berlin"));
        var bad = Write(Valid.Replace("<organization domain=\"example.test\"", "<organization time-zone=\"Mars/Olympus\" domain=\"example.test\""));
        var e = Assert.Throws<ConfigException>(() => Load(bad))!;
        Assert.That(e.Problem, Does.Contain("time-zone 'Mars/Olympus' is not a time zone this machine knows"));
    }

    [TestCase("30s", 30)]
    [TestCase("10m", 600)]
    [TestCase("2h", 7200)]
    [TestCase("PT90S", 90)]
    public void DurationsAcceptUnitsAndIso8601(string text, int seconds)
    {
        Assert.That(ConfigLoader.TryParseDuration(text, out var v), Is.True);
        Assert.That(v, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }
}

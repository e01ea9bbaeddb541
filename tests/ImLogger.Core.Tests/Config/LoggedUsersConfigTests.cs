using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary>Who is logged: users, groups (inline and mod_groups files), CSV lists, exclusions and seats; and the schema.</summary>
public class LoggedUsersConfigTests : TempDirFixture
{
    private string Write(string organizationBody, string seats = "seats=\"10\"", string name = "imlogger.xml")
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="local" {seats}>
            {organizationBody}
              </organization>
              <endpoints>
                <directory name="local" path="archive" />
                <directory name="other" path="other" />
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    private string File_(string name, string text)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static ImLoggerConfig Load(string path) => ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);

    private static ConfigException Fails(string path) => Assert.Throws<ConfigException>(() => Load(path))!;

    [Test]
    public void TheFirstUsersUpToTheSeatsAreLoggedAndTheRestAreNamedAsOverTheLimit()
    {
        var config = Load(Write("""
                <user jid="alice@example.test" />
                <user jid="bob@example.test" />
                <user jid="carol@example.test" />
                <user jid="dave@example.test" />
                <user jid="erin@example.test" />
            """, seats: "seats=\"3\""));
        var org = config.Organizations.Single();
        Assert.Multiple(() =>
        {
            Assert.That(org.Seats, Is.EqualTo(3));
            Assert.That(org.Users.Select(u => u.Jid), Is.EqualTo(new[] { "alice@example.test", "bob@example.test", "carol@example.test" }));
            Assert.That(org.OverLimit.Select(u => u.Jid), Is.EqualTo(new[] { "dave@example.test", "erin@example.test" }));
            Assert.That(config.LoggedUsers.Keys, Is.EquivalentTo(new[] { "alice@example.test", "bob@example.test", "carol@example.test" }));
            Assert.That(ImLogger.Seats.SeatPlan.Of(config, []).OrganizationOf("dave@example.test"), Is.Null, "over the limit: not logged at all");
            Assert.That(ImLogger.Seats.SeatPlan.Of(config, []).OrganizationOf("alice@example.test"), Is.SameAs(org));
        });
    }

    [Test]
    public void GroupsFilesCsvAndExclusionsResolveInConfigOrderWithTheirEndpoints()
    {
        File_("groups.txt", "[Other]\nzed@example.test\n\n[+Compliance]\ndave@example.test=Dave\n  frank@example.test  \n");
        File_("users.csv", "name,jid,endpoint\nGrace,grace@example.test,\nIntern,intern@example.test,\nHeidi,\"heidi@example.test\",other\nAlice again,alice@example.test,\n");
        var config = Load(Write("""
                <user jid="alice@example.test" />
                <group name="traders" endpoint="other">
                  <member jid="bob@example.test" />
                </group>
                <group name="Compliance" file="groups.txt" />
                <csv path="users.csv" />
                <exclude jid="intern@example.test" />
                <exclude jid="inten@example.test" />
            """, seats: "seats=\"5\""));
        var org = config.Organizations.Single();
        Assert.Multiple(() =>
        {
            Assert.That(org.Users.Select(u => u.Jid), Is.EqualTo(new[]
                { "alice@example.test", "bob@example.test", "dave@example.test", "frank@example.test", "grace@example.test" }));
            Assert.That(org.OverLimit.Select(u => u.Jid), Is.EqualTo(new[] { "heidi@example.test" }));
            Assert.That(org.Excluded.Select(u => u.Jid), Is.EqualTo(new[] { "intern@example.test" }));
            Assert.That(org.UnmatchedExclusions, Is.EqualTo(new[] { "inten@example.test (line 13)" }), "a misspelt exclusion is shown");
            Assert.That(config.LoggedUsers["alice@example.test"], Is.EqualTo("local"), "first place wins; the CSV names alice again without an endpoint");
            Assert.That(config.LoggedUsers["bob@example.test"], Is.EqualTo("other"));
            Assert.That(org.OverLimit[0].Endpoint, Is.EqualTo("other"), "the CSV's endpoint column");
            Assert.That(org.Users[2].Source, Is.EqualTo("group 'Compliance' (groups.txt:5)"));
            Assert.That(org.Users[4].Source, Is.EqualTo("users.csv:2"));
            Assert.That(config.ReferencedFiles, Is.EquivalentTo(new[] { Path.Combine(Dir, "groups.txt"), Path.Combine(Dir, "users.csv") }));
        });
    }

    [Test]
    public void TheShippedSampleConfigIsValid()
    {
        var sample = Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../../samples/config/imlogger.xml");
        var config = ConfigLoader.Load(sample, v => v is "IMLOGGER_COMPONENT_SECRET" or "IMLOGGER_SMTP_PASSWORD" ? "x" : null);
        var org = config.Organizations[0];
        Assert.That(org.Users.Select(u => u.Jid.Split('@')[0]), Is.EqualTo(new[] { "alice", "bob", "carol", "dave", "frank", "grace" }));
        Assert.That(org.OverLimit.Select(u => u.Jid.Split('@')[0]), Is.EqualTo(new[] { "heidi", "ivan" }));
        var partner = config.Organizations[1];
        Assert.That((partner.Name, partner.LoggedByDefault, partner.Domains.Count), Is.EqualTo(("Partner Corp", true, 2)));
        Assert.That(config.Services.TelephonyGateways, Is.EqualTo(new[] { "cheogram.com" }));
    }

    [TestCase("", "needs seats=\"N\", the number of provisioned (licensed) seats")]
    [TestCase("seats=\"0\"", "seats must be a positive whole number")]
    [TestCase("seats=\"ten\"", "seats must be a positive whole number")]
    public void SeatsAreRequiredAndPositive(string seats, string problem)
    {
        var e = Fails(Write("<user jid=\"alice@example.test\" />", seats));
        Assert.That(e.Problem, Does.Contain(problem));
        Assert.That(e.Line, Is.EqualTo(5));
    }

    [Test]
    public void ABadCsvRowNamesTheCsvFileAndItsOwnLine()
    {
        var csv = File_("users.csv", "jid,endpoint\nalice@example.test,\n# a comment line\nnot-a-jid,\n");
        var e = Fails(Write("<csv path=\"users.csv\" />"));
        Assert.Multiple(() =>
        {
            Assert.That(e.File, Is.EqualTo(csv));
            Assert.That(e.Line, Is.EqualTo(4));
            Assert.That(e.Message, Does.StartWith($"{csv}:4:1: 'not-a-jid' is not a bare JID"));
            Assert.That(e.Problem, Does.Contain("listed by").And.Contain("line 6"));
        });
    }

    [TestCase("jid,endpoint\nalice@example.test,nowhere\n", 2, "endpoint 'nowhere' of user 'alice@example.test' is not defined")]
    [TestCase("jid\nmallory@evil.test\n", 2, "not in the organization's domain 'example.test'")]
    [TestCase("user,endpoint\nalice@example.test,\n", 1, "must be a header naming a 'jid' column")]
    public void CsvErrors(string text, int line, string problem)
    {
        File_("users.csv", text);
        var e = Fails(Write("<csv path=\"users.csv\" />"));
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(e.Problem, Does.Contain(problem));
    }

    [Test]
    public void GroupFileErrorsNameTheFileOrTheGroup()
    {
        File_("groups.txt", "[Traders]\nalice@example.test\nbob@elsewhere.test\n");
        var e = Fails(Write("<group name=\"Traders\" file=\"groups.txt\" />"));
        Assert.That(e.Message, Does.StartWith($"{Path.Combine(Dir, "groups.txt")}:3:1:"));
        Assert.That(e.Problem, Does.Contain("not in the organization's domain"));

        File_("groups.txt", "[Sales]\nalice@example.test\n");
        e = Fails(Write("<group name=\"Traders\" file=\"groups.txt\" />"));
        Assert.That(e.Problem, Does.Contain("group 'Traders' is not in").And.Contain("groups there: 'Sales'"));
        Assert.That(e.Line, Is.EqualTo(6));
    }

    [Test]
    public void AUserWithTwoDifferentEndpointsIsAnError()
    {
        var e = Fails(Write("""
                <user jid="alice@example.test" endpoint="local" />
                <group name="g" endpoint="other"><member jid="alice@example.test" /></group>
            """));
        Assert.That(e.Problem, Does.Contain("user 'alice@example.test' is given endpoint 'other' at group 'g' (line 7) but 'local' at line 6"));
    }

    [Test]
    public void StrayTextIsCaughtByTheSchema()
    {
        // Only the schema knows that <organization> holds elements only: the loader's own checks skip text there.
        var e = Fails(Write("oops\n<user jid=\"alice@example.test\" />"));
        Assert.That(e.Problem, Is.EqualTo("<organization> takes no text; use attributes"));
        Assert.That(e.InnerException, Is.InstanceOf<System.Xml.Schema.XmlSchemaException>());
    }

    [TestCase("<user jid=\"alice@example.test\" endpont=\"other\" />", 6, "<user> has no attribute 'endpont'")]
    [TestCase("<exclude />", 6, "<exclude> needs a non-empty 'jid' attribute")]
    [TestCase("<group name=\"g\"><membre jid=\"a@example.test\" /></group>", 6, "unknown element <membre> inside <group>")]
    public void TyposNameLineAndProblem(string body, int line, string problem)
    {
        var e = Fails(Write(body));
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(e.Problem, Does.Contain(problem));
    }

    [Test]
    public void TheSchemaAcceptsWhatTheLoaderAccepts()
    {
        // Switches are case-insensitive for the loader; the schema must not be stricter.
        var org = Load(Write("<notifications inside=\"OFF\" outside=\"Yes\" />\n<user jid=\"alice@example.test\" />")).Organizations[0];
        Assert.That(org.Notifications.NotifyInside, Is.False);
        Assert.That(org.Notifications.NotifyOutside, Is.True);
    }

    [Test]
    public void TheSchemaShippedInConfigIsTheOneTheLoaderUses()
    {
        var shipped = Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../../config/imlogger.xsd");
        Assert.That(ConfigLoader.SchemaText(), Is.EqualTo(File.ReadAllText(shipped)));
    }
}

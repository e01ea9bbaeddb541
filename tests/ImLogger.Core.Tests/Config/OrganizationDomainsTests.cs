using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary>Organizations with several domains, a name, and logged-by-default; the errors an admin can make with them.</summary>
public class OrganizationDomainsTests : TempDirFixture
{
    private string Write(string organizations)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
            {organizations}
              <endpoints>
                <directory name="local" path="archive" />
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    private static ImLoggerConfig Load(string path) => ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);

    [Test]
    public void AnOrganizationSpansSeveralDomainsWithOneSeatCount()
    {
        var config = Load(Write("""
              <organization name="Example Corp" domain="example.test  Example.NET,example.org" endpoint="local" seats="2">
                <user jid="alice@example.test" />
                <user jid="bob@example.net" />
                <user jid="carol@example.org" />
              </organization>
            """));
        var org = config.Organizations.Single();
        Assert.Multiple(() =>
        {
            Assert.That(org.Name, Is.EqualTo("Example Corp"));
            Assert.That(org.Domains, Is.EqualTo(new[] { "example.test", "example.net", "example.org" }));
            Assert.That(org.Users.Select(u => u.Jid), Is.EqualTo(new[] { "alice@example.test", "bob@example.net" }), "one seat count across the domains");
            Assert.That(org.OverLimit.Select(u => u.Jid), Is.EqualTo(new[] { "carol@example.org" }));
            Assert.That(org.Owns("x@example.org") && org.Owns("example.net") && !org.Owns("x@partner.test"), Is.True);
            Assert.That(org.LoggedByDefault, Is.False);
        });
    }

    [Test]
    public void WithoutANameAnOrganizationIsNamedByItsFirstDomain()
    {
        var org = Load(Write("""<organization domain="example.test" endpoint="local" seats="1"><user jid="alice@example.test" /></organization>""")).Organizations.Single();
        Assert.That(org.Name, Is.EqualTo("example.test"));
    }

    [Test]
    public void LoggedByDefaultNeedsNoListedUserAndKeepsItsExclusions()
    {
        var org = Load(Write("""
              <organization domain="example.test" endpoint="local" seats="50" logged-by-default="yes">
                <exclude jid="ceo@example.test" />
              </organization>
            """)).Organizations.Single();
        Assert.Multiple(() =>
        {
            Assert.That(org.LoggedByDefault, Is.True);
            Assert.That(org.Users, Is.Empty);
            Assert.That(org.Exclusions, Is.EquivalentTo(new[] { "ceo@example.test" }));
            Assert.That(org.UnmatchedExclusions, Is.Empty, "with logged-by-default an exclusion is for users not seen yet, not a typo");
        });
    }

    [TestCase("""<organization domain="example.test" endpoint="local" seats="1"><user jid="alice@example.net" /></organization>""",
        5, "user 'alice@example.net' is not in the organization's domain 'example.test'")]
    [TestCase("""<organization domain="example.test example.org" endpoint="local" seats="1"><user jid="alice@example.net" /></organization>""",
        5, "is not in the organization's domains 'example.test', 'example.org'")]
    [TestCase("""<organization domain="example.test alice@example.test" endpoint="local" seats="1" />""",
        5, "domain 'alice@example.test' must be a domain such as example.test")]
    [TestCase("""<organization domain="example.test example.test" endpoint="local" seats="1" />""",
        5, "domain 'example.test' is given twice in the same organization")]
    [TestCase("""<organization domain="example.test" endpoint="local" seats="1" logged-by-default="maybe" />""",
        5, "logged-by-default must be on or off, not 'maybe'")]
    [TestCase("<organization domain=\"example.test\" endpoint=\"local\" seats=\"1\" />\n<organization domain=\"example.org example.test\" endpoint=\"local\" seats=\"1\" />",
        6, "domain 'example.test' belongs to two organizations (first at line 5)")]
    [TestCase("<organization name=\"Acme\" domain=\"example.test\" endpoint=\"local\" seats=\"1\" />\n<organization name=\"acme\" domain=\"example.org\" endpoint=\"local\" seats=\"1\" />",
        6, "organization 'acme' is defined twice (first at line 5)")]
    public void MistakesNameTheLineAndTheProblem(string organizations, int line, string problem)
    {
        var e = Assert.Throws<ConfigException>(() => Load(Write(organizations)))!;
        Assert.That(e.Message, Does.Contain($"imlogger.xml:{line}:").And.Contain(problem));
    }
}

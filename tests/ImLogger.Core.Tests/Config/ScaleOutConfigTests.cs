using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Tests.Config;

/// <summary><c>&lt;scale-out components="…"/&gt;</c> (docs/scale-out.md): read, refused with clear errors, restart to change,
/// and what server-config writes from it.</summary>
public class ScaleOutConfigTests : TempDirFixture
{
    private ImLoggerConfig Load(string scaleOut, string jid = "archive.example.test", string organization = "")
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="{jid}" secret-env="SECRET" />
              <spool path="spool.db" />
              {scaleOut}
              <organization domain="example.test" endpoint="local" seats="10" {organization}><user jid="alice@example.test" /></organization>
              <endpoints><directory name="local" path="archive" /></endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);
    }

    private const string Two = """<scale-out components="archive.example.test  Archive2.example.test" />""";

    [Test]
    public void AbsentItIsOneInstance() => Assert.That(Load("").ScaleOut, Is.Null);

    [Test]
    public void TheListIsReadInOrderLowerCased() =>
        Assert.That(Load(Two).ScaleOut!.Components, Is.EqualTo(new[] { "archive.example.test", "archive2.example.test" }));

    [TestCase("""<scale-out components="archive.example.test" />""", "2 to 64 component JIDs")]
    [TestCase("""<scale-out components="archive.example.test archive.example.test" />""", "listed twice")]
    [TestCase("""<scale-out components="archive.example.test bob@example.test" />""", "'bob@example.test' is not a component JID")]
    [TestCase("""<scale-out components="archive2.example.test archive3.example.test" />""", "own component (archive.example.test) is not in the list")]
    [TestCase("""<scale-out components="archive.example.test Example.test" />""", "'example.test' is a user domain of organization")]
    [TestCase("""<scale-out />""", "components")]
    [TestCase("""<scale-out components="a.test b.test" mode="x" />""", "has no attribute 'mode'")]
    public void BadListsAreErrorsSayingWhatToWrite(string element, string problem) =>
        Assert.That(Assert.Throws<ConfigException>(() => Load(element))!.Message, Does.Contain(problem));

    [Test]
    public void LoggedByDefaultIsRefusedNamingWhy() =>
        Assert.That(Assert.Throws<ConfigException>(() => Load(Two, organization: "logged-by-default=\"yes\""))!.Message,
            Does.Contain("logged by default, which cannot be scaled out yet").And.Contain("docs/scale-out.md"));

    /// <summary>ejabberd routes by conversation too (mod_imlogger_lanes.erl): the snippet lists every instance's component
    /// for the module, and the listener accepts each with its own route only (global_routes off: otherwise the first
    /// instance to authenticate would be routed every listed component's traffic).</summary>
    [Test]
    public void EjabberdSnippetListsTheInstancesAndRoutesEachItsOwnComponent()
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        Load(Two);
        File.WriteAllText(path, File.ReadAllText(path).Replace("<spool ", "<attach server=\"ejabberd\" mode=\"inline\" /><spool ", StringComparison.Ordinal));
        var snippet = EjabberdInlineRules.ConfigSnippet(ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null), "/modules");
        Assert.That(snippet, Does.Contain("    global_routes: false\n    hosts:\n      \"archive.example.test\":\n        password: \"s3cret\"\n      \"archive2.example.test\":\n        password: \"s3cret\"\n")
            .And.Contain("        component: \"archive.example.test\"\n        # scale-out: 2 ImLogger instances").And.Contain("        components: [\"archive.example.test\", \"archive2.example.test\"]\n"));
        var one = EjabberdInlineRules.ConfigSnippet(Load(""), "/modules");
        Assert.That(one, Does.Not.Contain("components:").And.Not.Contain("global_routes").And.Contain("hosts:\n      \"archive.example.test\":\n"),
            "one instance: the snippet as before");
    }

    [Test]
    public void ChangingItNeedsARestart()
    {
        var running = Load(Two);
        Assert.That(ConfigHolder.NeedsRestart(running, Load("""<scale-out components="archive2.example.test archive.example.test" />""")), Does.Contain("<scale-out>"),
            "another order is another bucket order");
        Assert.That(ConfigHolder.NeedsRestart(running, Load(Two)), Is.Null);
    }

    [Test]
    public void ServerConfigWritesTheListAndAComponentPerInstance()
    {
        var snippet = ProsodyInlineRules.ConfigSnippet(Load(Two), "/plugins");
        Assert.That(snippet, Does.Contain("imlogger_components = { \"archive.example.test\", \"archive2.example.test\" }")
            .And.Contain("Component \"archive.example.test\"").And.Contain("Component \"archive2.example.test\""));
        Assert.That(ProsodyInlineRules.ConfigSnippet(Load(""), "/plugins"), Does.Not.Contain("imlogger_components"));
    }

    [Test]
    public void EveryInstanceSeesTheSameGeneration() =>
        Assert.That(RulesGeneration.Of(Load(Two, jid: "archive2.example.test")), Is.EqualTo(RulesGeneration.Of(Load(Two))),
            "the rules written from either instance's config are the same rules");
}

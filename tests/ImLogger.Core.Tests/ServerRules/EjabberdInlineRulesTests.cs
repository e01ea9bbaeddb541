using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Tests.ServerRules;

/// <summary>What <c>imlogger server-config</c> writes for <c>&lt;attach server="ejabberd"/&gt;</c>, and how the attribute is read.</summary>
public class EjabberdInlineRulesTests : TempDirFixture
{
    private static ImLoggerConfig Config(string secret = "s3cret", string host = "127.0.0.1") => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = host, Port = 5347, Secret = secret, SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Organizations = [new OrganizationConfig { Domains = ["example.test", "example.org"], DefaultEndpoint = "local",
            Users = [new LoggedUserConfig("alice@example.test", null), new LoggedUserConfig("bob@example.org", null)] }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
        Attach = new AttachSettings { Mode = AttachMode.Inline, Server = XmppServerKind.Ejabberd, Timeout = TimeSpan.FromSeconds(7.5) },
    };

    [Test]
    public void SnippetListensForTheComponentAndLoadsTheModuleOnEachHostWithItsOwnUsers()
    {
        var yml = EjabberdInlineRules.ConfigSnippet(Config(), "/etc/ejabberd/imlogger").ReplaceLineEndings("\n");
        Assert.Multiple(() =>
        {
            Assert.That(yml, Does.Contain("listen:\n  -\n    port: 5347\n    ip: \"127.0.0.1\"\n    module: ejabberd_service\n"));
            Assert.That(yml, Does.Contain("    hosts:\n      \"archive.example.test\":\n        password: \"s3cret\"\n"));
            Assert.That(yml, Does.Contain("append_host_config:\n  \"example.test\":\n    modules:\n      mod_imlogger_inline:\n        component: \"archive.example.test\"\n        logged_users: [\"alice@example.test\"]\n"));
            Assert.That(yml, Does.Contain("  \"example.org\":\n    modules:\n      mod_imlogger_inline:\n        component: \"archive.example.test\"\n        logged_users: [\"bob@example.org\"]\n"));
            // ejabberd's options take whole seconds: 7.5 s is rounded up, never down.
            Assert.That(yml, Does.Contain("        timeout: 8\n"));
            Assert.That(yml, Does.Contain("        failure_mode: closed\n"));
            Assert.That(yml, Does.Contain("        max_batch_bytes: 983040\n"));
            Assert.That(yml.Split('\n').Any(l => l.StartsWith("host_config:", StringComparison.Ordinal)), Is.False, "host_config would replace the host's modules");
        });
    }

    // A secret is whatever the operator chose: quotes, a newline and a YAML key must stay inside the password's scalar.
    [Test]
    public void ASecretCannotAddYamlOfItsOwn()
    {
        var yml = EjabberdInlineRules.ConfigSnippet(Config("x\"\n  modules: {mod_admin_extra: {}}\n#"), "/etc/ejabberd/imlogger");
        var lines = yml.ReplaceLineEndings("\n").Split('\n');
        Assert.That(lines.Single(l => l.TrimStart().StartsWith("password:", StringComparison.Ordinal)),
            Is.EqualTo("        password: \"x\\u0022\\n  modules: {mod_admin_extra: {}}\\n#\""));
        Assert.That(lines.Any(l => l.TrimStart().StartsWith("modules: {", StringComparison.Ordinal)), Is.False);
    }

    [TestCase("localhost", "127.0.0.1")]
    [TestCase("::1", "::1")]
    [TestCase("xmpp.example.test", "::")]
    public void ListensWhereImLoggerConnects(string host, string ip) =>
        Assert.That(EjabberdInlineRules.ConfigSnippet(Config(host: host), "/d"), Does.Contain($"    ip: \"{ip}\""));

    [Test]
    public void WriterPutsTheSnippetFirstThenTheModuleItsBuildScriptAndSpec()
    {
        var written = ServerRulesWriter.Write(Config(), Path.Combine(Dir, "out"));
        Assert.That(written.Select(Path.GetFileName), Is.EqualTo(new[] { "imlogger.yml", "mod_imlogger_inline.erl", "mod_imlogger_muc.erl", "mod_imlogger_signin.erl", "mod_imlogger_lanes.erl", "build.sh", "mod_imlogger_inline.spec" }));
        Assert.That(File.ReadAllText(written[1]), Does.Contain("-module(mod_imlogger_inline)."));
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(written[0]) & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite), Is.EqualTo(UnixFileMode.None), "the snippet holds the secret");
    }

    private const string Valid = """
        <?xml version="1.0" encoding="utf-8"?>
        <imlogger>
          <component jid="archive.example.test" host="127.0.0.1" port="5347" secret-env="SECRET" />
          ATTACH
          <spool path="spool/spool.db" />
          <organization domain="example.test" endpoint="local" seats="10">
            <user jid="alice@example.test" />
          </organization>
          <endpoints>
            <directory name="local" path="archive" />
          </endpoints>
        </imlogger>
        """;

    private ImLoggerConfig Load(string attach)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, Valid.Replace("ATTACH", attach, StringComparison.Ordinal));
        return ConfigLoader.Load(path, v => v == "SECRET" ? "s3cret" : null);
    }

    [Test]
    public void ServerIsProsodyUnlessTheConfigSaysEjabberd()
    {
        Assert.That(Load("<attach />").Attach.Server, Is.EqualTo(XmppServerKind.Prosody));
        Assert.That(Load("<attach server=\" EJABBERD \" />").Attach.Server, Is.EqualTo(XmppServerKind.Ejabberd));
        Assert.That(Load("<attach server=\"prosody\" mode=\"tap\" />").Attach.Mode, Is.EqualTo(AttachMode.Tap));
    }

    [TestCase("<attach server=\"openfire\" />", "server must be prosody or ejabberd, not 'openfire'")]
    [TestCase("<attach server=\"ejabberd\" mode=\"tap\" />", "tap mode needs Prosody's mod_firewall")]
    public void ServerErrorsSayWhatToWrite(string attach, string problem)
    {
        var e = Assert.Throws<ConfigException>(() => Load(attach))!;
        Assert.That(e.Problem, Does.Contain(problem));
    }
}

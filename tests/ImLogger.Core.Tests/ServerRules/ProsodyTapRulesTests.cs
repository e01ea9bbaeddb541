using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Tests.ServerRules;

public class ProsodyTapRulesTests
{
    private static ImLoggerConfig Config(string secret = "s3cret") => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = secret, SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Attach = new AttachSettings { Mode = AttachMode.Tap }, // tap rules: the default is inline
        Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local",
            Users = [new LoggedUserConfig("bob@example.test", null), new LoggedUserConfig("alice@example.test", null)] }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    [Test]
    public void FirewallScriptCopiesBothDirectionsOfEachLoggedUser()
    {
        var script = ProsodyTapRules.FirewallScript(Config());
        const string alice = "::preroute\nFROM: alice@example.test\nNOT TO: archive.example.test\nRULEDEP=st\nFORWARD=archive.example.test\n\n" +
                             "::deliver\nTO: alice@example.test\nNOT FROM: archive.example.test\nRULEDEP=st\nFORWARD=archive.example.test\n";
        Assert.That(script.ReplaceLineEndings("\n"), Does.Contain(alice));
        Assert.That(script.IndexOf("alice@", StringComparison.Ordinal), Is.LessThan(script.IndexOf("bob@", StringComparison.Ordinal)), "stable order");
    }

    [Test]
    public void ConfigSnippetDeclaresTheComponentAndLoadsTheFirewall()
    {
        var lua = ProsodyTapRules.ConfigSnippet(Config("we\"ird\\secret"), "/etc/prosody/imlogger.pfw");
        Assert.That(lua, Does.Contain("Component \"archive.example.test\""));
        Assert.That(lua, Does.Contain("component_secret = \"we\\\"ird\\\\secret\""), "secret is a valid Lua string");
        Assert.That(lua, Does.Contain("VirtualHost \"example.test\""));
        Assert.That(lua, Does.Contain("firewall_scripts = { \"/etc/prosody/imlogger.pfw\" }"));
    }

    [Test]
    public void AnOrganizationLoggedByDefaultIsCopiedWholeButItsExcludedUsers()
    {
        var config = Config() with
        {
            Organizations =
            [
                new OrganizationConfig
                {
                    Name = "Example Corp", Domains = ["example.test", "example.net"], DefaultEndpoint = "local", Seats = 10, LoggedByDefault = true,
                    Users = [new LoggedUserConfig("alice@example.test", null)], Exclusions = new HashSet<string> { "ceo@example.net" },
                },
                new OrganizationConfig { Domains = ["partner.test"], DefaultEndpoint = "local", Users = [new LoggedUserConfig("erin@partner.test", null)] },
            ],
        };
        var script = ProsodyTapRules.FirewallScript(config).ReplaceLineEndings("\n");
        Assert.Multiple(() =>
        {
            Assert.That(script, Does.Contain("::preroute\nFROM: <*>@example.test\nNOT TO: archive.example.test\nRULEDEP=st\nFORWARD=archive.example.test\n"));
            Assert.That(script, Does.Contain("::deliver\nTO: <*>@example.net\nNOT FROM: archive.example.test\nRULEDEP=st\nFORWARD=archive.example.test\n"));
            Assert.That(script, Does.Contain("::preroute\nFROM: ceo@example.net\nPASS.\n"));
            Assert.That(script, Does.Contain("::deliver\nTO: ceo@example.net\nPASS.\n"));
            Assert.That(script.IndexOf("FROM: ceo@example.net", StringComparison.Ordinal), Is.LessThan(script.IndexOf("FROM: <*>@example.net", StringComparison.Ordinal)),
                "mod_firewall runs a chain's rules in order: the exclusion must come before the wildcard");
            Assert.That(script, Does.Not.Contain("FROM: alice@example.test"), "a listed user is already covered by the wildcard: copied once, not twice");
            Assert.That(script, Does.Contain("FROM: erin@partner.test"));
        });
        var lua = ProsodyTapRules.ConfigSnippet(config, "/etc/prosody/imlogger.pfw");
        Assert.That(lua, Does.Contain("VirtualHost \"example.test\"").And.Contain("VirtualHost \"example.net\"").And.Contain("VirtualHost \"partner.test\""));
    }
}

using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Tests.ServerRules;

public class ProsodyInlineRulesTests
{
    private static ImLoggerConfig Config(FailureMode mode) => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s3cret", SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Organizations = [new OrganizationConfig { Domain = "example.test", DefaultEndpoint = "local",
            Users = [new LoggedUserConfig("alice@example.test", null), new LoggedUserConfig("bob@example.test", null)] }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
        Attach = new AttachSettings { Mode = AttachMode.Inline, FailureMode = mode, Timeout = TimeSpan.FromSeconds(7.5) },
    };

    [TestCase(FailureMode.Closed, "closed")]
    [TestCase(FailureMode.Open, "open")]
    public void SnippetLoadsTheModuleOnEachOrganizationsHost(FailureMode mode, string expected)
    {
        var lua = ProsodyInlineRules.ConfigSnippet(Config(mode), "/etc/prosody/imlogger");
        Assert.Multiple(() =>
        {
            Assert.That(lua, Does.Contain("VirtualHost \"*\"\nplugin_paths = { \"/etc/prosody/imlogger\" }").Or.Contain("VirtualHost \"*\"\r\nplugin_paths"));
            Assert.That(lua, Does.Contain("modules_enabled = { \"imlogger_inline\" }"));
            Assert.That(lua, Does.Contain("imlogger_logged_users = { \"alice@example.test\", \"bob@example.test\" }"));
            Assert.That(lua, Does.Contain($"imlogger_failure_mode = \"{expected}\""));
            Assert.That(lua, Does.Contain("imlogger_timeout = 7.5"));
            Assert.That(lua, Does.Contain("Component \"archive.example.test\""));
            Assert.That(lua.IndexOf("VirtualHost \"*\"", StringComparison.Ordinal), Is.LessThan(lua.IndexOf("VirtualHost \"example.test\"", StringComparison.Ordinal)),
                "plugin_paths is set in the global section, before any host");
        });
    }

    [Test]
    public void TheModuleShipsInsideImLogger()
    {
        var source = ProsodyInlineRules.ModuleSource();
        Assert.That(source, Does.Contain("urn:imlogger:inline:0"));
        Assert.That(source, Does.Contain("module:hook(\"pre-stanza\""));
    }
}

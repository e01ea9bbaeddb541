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
        Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local",
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
            Assert.That(lua, Does.Contain("VirtualHost \"*\"\nplugin_paths = { \"/etc/prosody/imlogger\", \"/usr/local/lib/prosody/modules\" }").Or.Contain("VirtualHost \"*\"\r\nplugin_paths"));
            Assert.That(lua, Does.Contain("modules_enabled = { \"imlogger_inline\" }"));
            Assert.That(lua, Does.Contain("imlogger_logged_users = { \"alice@example.test\", \"bob@example.test\" }"));
            Assert.That(lua, Does.Contain($"imlogger_failure_mode = \"{expected}\""));
            Assert.That(lua, Does.Contain("imlogger_timeout = 7.5"));
            Assert.That(lua, Does.Contain("Component \"archive.example.test\""));
            Assert.That(lua.IndexOf("VirtualHost \"*\"", StringComparison.Ordinal), Is.LessThan(lua.IndexOf("VirtualHost \"example.test\"", StringComparison.Ordinal)),
                "plugin_paths is set in the global section, before any host");
        });
    }

    [TestCase(1024 * 1024, 983_040)]
    [TestCase(64 * 1024, 57_344)]
    [TestCase(4096, 2048)]
    public void RequestsAreSplitBelowMaxStanzaBytes(int maxStanzaBytes, int expected)
    {
        var lua = ProsodyInlineRules.ConfigSnippet(Config(FailureMode.Closed) with
        {
            Component = Config(FailureMode.Closed).Component with { MaxStanzaBytes = maxStanzaBytes },
        }, "/etc/prosody/imlogger");
        Assert.That(lua, Does.Contain($"imlogger_max_batch_bytes = {expected} -- below max-stanza-bytes ({maxStanzaBytes})"));
        Assert.That(expected, Is.LessThanOrEqualTo(maxStanzaBytes - Math.Min(maxStanzaBytes / 2, 8192)), "headroom for the reader's 4 KiB precision and the request's own elements");
    }

    [Test]
    public void TheModuleRefusesAStanzaTooLargeForAnyRequestByItself()
    {
        var source = ProsodyInlineRules.ModuleSource();
        Assert.That(source, Does.Contain("number_option(\"imlogger_max_batch_bytes\""));
        Assert.That(source, Does.Contain("refuse_too_large(item)"));
    }

    [Test]
    public void TheModuleShipsInsideImLogger()
    {
        var source = ProsodyInlineRules.ModuleSource();
        Assert.That(source, Does.Contain("urn:imlogger:inline:0"));
        Assert.That(source, Does.Contain("module:hook(\"pre-stanza\""));
    }

    [Test]
    public void EachDomainOfAnOrganizationLoggedByDefaultHoldsEveryoneButTheExcluded()
    {
        var config = Config(FailureMode.Closed) with
        {
            Organizations = [new OrganizationConfig
            {
                Name = "Example Corp", Domains = ["example.test", "example.net"], DefaultEndpoint = "local", Seats = 10, LoggedByDefault = true,
                Users = [new LoggedUserConfig("alice@example.test", null), new LoggedUserConfig("bob@example.net", null)],
                Exclusions = new HashSet<string> { "ceo@example.net" },
            }],
        };
        var lua = ProsodyInlineRules.ConfigSnippet(config, "/etc/prosody/imlogger").ReplaceLineEndings("\n");
        var net = lua[lua.IndexOf("VirtualHost \"example.net\"", StringComparison.Ordinal)..];
        var test = lua[lua.IndexOf("VirtualHost \"example.test\"", StringComparison.Ordinal)..lua.IndexOf("VirtualHost \"example.net\"", StringComparison.Ordinal)];
        Assert.Multiple(() =>
        {
            Assert.That(test, Does.Contain("imlogger_log_all = true").And.Contain("imlogger_excluded_users = {  }").And.Contain("imlogger_logged_users = { \"alice@example.test\" }"));
            Assert.That(net, Does.Contain("imlogger_log_all = true").And.Contain("imlogger_excluded_users = { \"ceo@example.net\" }").And.Contain("imlogger_logged_users = { \"bob@example.net\" }"));
        });
    }

    [Test]
    public void TheModuleReadsTheLogAllOptions()
    {
        var source = ProsodyInlineRules.ModuleSource();
        // A value neither true nor false reads as true (widening_switch; InlineModuleSettingErrorTests on real Prosody).
        Assert.That(source, Does.Contain("widening_switch(\"imlogger_log_all\")").And.Contain("get_option_set(\"imlogger_excluded_users\""));
    }
}

using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Tests.ServerRules;

public class RulesGenerationTests
{
    private static ImLoggerConfig Config(AttachMode mode = AttachMode.Tap, string secret = "s3cret", string source = "/etc/imlogger/imlogger.xml", params string[] users) => new()
    {
        SourcePath = source,
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = secret, SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Attach = new AttachSettings { Mode = mode },
        Organizations = [new OrganizationConfig { Domains = ["example.test", "example.net"], DefaultEndpoint = "local",
            Users = (users.Length == 0 ? ["alice@example.test"] : users).Select(u => new LoggedUserConfig(u, null)).ToList() }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    [TestCase(AttachMode.Tap), TestCase(AttachMode.Inline)]
    public void TheSameRulesHaveTheSameGenerationWhereverTheConfigLivesAndWhateverTheSecret(AttachMode mode)
    {
        var generation = RulesGeneration.Of(Config(mode));
        Assert.That(generation, Does.Match("^[0-9a-f]{12}$"));
        Assert.That(RulesGeneration.Of(Config(mode, secret: "other", source: "/tmp/copy.xml")), Is.EqualTo(generation));
        Assert.That(RulesGeneration.Of(Config(mode, users: ["alice@example.test", "bob@example.test"])), Is.Not.EqualTo(generation), "another logged user");
        Assert.That(RulesGeneration.Of(Config(mode == AttachMode.Tap ? AttachMode.Inline : AttachMode.Tap)), Is.Not.EqualTo(generation), "another mode");
    }

    [Test]
    public void AGroupChatHostAddedOrRemovedIsANewGenerationAndNoneLeavesTheOldOne()
    {
        var without = Config(AttachMode.Inline);
        ImLoggerConfig With(params string[] hosts) => without with { Organizations = [without.Organizations[0] with { GroupChatHosts = hosts }] };
        var one = RulesGeneration.Of(With("conference.example.test"));
        Assert.Multiple(() =>
        {
            Assert.That(one, Is.Not.EqualTo(RulesGeneration.Of(without)), "the MUC module is part of the rules the server must load");
            Assert.That(RulesGeneration.Of(With("conference.example.test", "rooms.example.net")), Is.Not.EqualTo(one), "another host");
            Assert.That(RulesGeneration.Of(With("rooms.example.net", "conference.example.test")),
                Is.EqualTo(RulesGeneration.Of(With("conference.example.test", "rooms.example.net"))), "the order hosts are written in means nothing");
            Assert.That(RulesGeneration.Of(With()), Is.EqualTo(RulesGeneration.Of(without)), "no hosts: the generation of a config written before them");
        });
    }

    [Test]
    public void TheFirewallScriptReturnsTheHeartbeatOfEachDomainNamingItsGeneration()
    {
        var config = Config();
        var script = ProsodyTapRules.FirewallScript(config).ReplaceLineEndings("\n");
        var generation = RulesGeneration.Of(config);
        foreach (var domain in new[] { "example.test", "example.net" })
            Assert.That(script, Does.Contain($"::deliver\nFROM: archive.example.test\nTO: {domain}/imlogger-alive\nRULEDEP=st\nFORWARD=archive.example.test/imlogger-rules-{generation}\nDROP.\n"));
        Assert.That(script.IndexOf("imlogger-alive", StringComparison.Ordinal), Is.LessThan(script.IndexOf("alice@", StringComparison.Ordinal)),
            "before every copy rule, so that nothing else sees the heartbeat");
    }

    [Test]
    public void TheInlineSnippetGivesTheModuleItsGenerationAndHeartbeat()
    {
        var config = Config(AttachMode.Inline) with { Attach = new AttachSettings { Mode = AttachMode.Inline, Heartbeat = TimeSpan.FromSeconds(5) } };
        var lua = ProsodyInlineRules.ConfigSnippet(config, "/etc/prosody/imlogger");
        Assert.That(lua, Does.Contain($"\timlogger_generation = \"{RulesGeneration.Of(config)}\""));
        Assert.That(lua, Does.Contain("\timlogger_heartbeat = 5\n").Or.Contain("\timlogger_heartbeat = 5\r\n"));
    }
}

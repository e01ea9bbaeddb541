using ImLogger.ServerRules;

namespace ImLogger.Tests.ServerRules;

/// <summary>The inline snippet keeps prosody.cfg.lua's plugin_paths (Debian's /usr/local/lib/prosody/modules) instead of
/// replacing them, since Prosody's config cannot append and the Included snippet comes last.</summary>
public class ProsodyPluginPathsTests : TempDirFixture
{
    private string Write(string name, string text)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void DebiansShippedConfig_KeepsUsrLocal()
    {
        // As Debian's prosody 0.12 package ships it (the comment lines, then the one assignment).
        var cfg = Write("prosody.cfg.lua", """
            -- under /usr/local/ hierarchy:
            plugin_paths = { "/usr/local/lib/prosody/modules" }
            modules_enabled = {
              "roster"; -- Allow users to have a roster. plugin_paths = { "/not/this" }
            }
            VirtualHost "localhost"
            """);
        Assert.That(ProsodyPluginPaths.Read(cfg), Is.EqualTo(new[] { "/usr/local/lib/prosody/modules" }));
    }

    [Test]
    public void OnlyTheGlobalSection_MultiLineLists_AndCommentedOutLinesIgnored()
    {
        var cfg = Write("prosody.cfg.lua", """
            -- plugin_paths = { "/commented/out" }
            plugin_paths = {
              "/opt/prosody-modules", -- community modules
              '/srv/mine';
            }
            Component "muc.example.test" "muc"
              plugin_paths = { "/host/level/is/ignored/by/prosody" }
            """);
        Assert.That(ProsodyPluginPaths.Read(cfg), Is.EqualTo(new[] { "/opt/prosody-modules", "/srv/mine" }));
    }

    [Test]
    public void NoPluginPaths_NothingToKeep_UnreadableFile_FallsBackToThePreviousSnippetThenDebian()
    {
        Assert.That(ProsodyPluginPaths.Read(Write("empty.cfg.lua", "VirtualHost \"localhost\"\n")), Is.Empty);
        var missing = Path.Combine(Dir, "missing.cfg.lua");
        var previous = Write("imlogger.cfg.lua", "VirtualHost \"*\"\nplugin_paths = { \"/etc/prosody/imlogger\", \"/opt/x\" }\n\nVirtualHost \"example.test\"\n");
        Assert.Multiple(() =>
        {
            Assert.That(ProsodyPluginPaths.ToKeep(previous, missing).Paths, Is.EqualTo(new[] { "/etc/prosody/imlogger", "/opt/x" }));
            Assert.That(ProsodyPluginPaths.ToKeep(null, missing).Paths, Is.EqualTo(new[] { ProsodyPluginPaths.DebianDefault }));
            Assert.That(ProsodyPluginPaths.ToKeep(null, missing).From, Does.Contain("not readable"));
        });
    }

    [Test]
    public void TheSnippetPutsImLoggersFolderFirstAndKeepsTheRestOnce()
    {
        var config = new ImLogger.Config.ImLoggerConfig
        {
            SourcePath = "/etc/imlogger/imlogger.xml",
            Component = new ImLogger.Config.ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = "/var/lib/imlogger/spool.db",
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations = [new ImLogger.Config.OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local", Users = [new ImLogger.Config.LoggedUserConfig("alice@example.test", null)] }],
            Endpoints = [new ImLogger.Config.DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
            Attach = new ImLogger.Config.AttachSettings { Mode = ImLogger.Config.AttachMode.Inline },
        };
        var lua = ProsodyInlineRules.ConfigSnippet(config, "/etc/prosody/imlogger", ["/etc/prosody/imlogger", "/usr/local/lib/prosody/modules"], "test");
        Assert.That(lua, Does.Contain("plugin_paths = { \"/etc/prosody/imlogger\", \"/usr/local/lib/prosody/modules\" }"));
    }
}

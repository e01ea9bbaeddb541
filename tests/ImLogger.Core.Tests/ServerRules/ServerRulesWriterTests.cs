using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Tests.ServerRules;

/// <summary>What <c>prosody-config --out</c> and a live reload write for Prosody.</summary>
public class ServerRulesWriterTests : TempDirFixture
{
    private static ImLoggerConfig Config(params string[] users) => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s3cret", SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Attach = new AttachSettings { Mode = AttachMode.Tap }, // tap rules: the default is inline
        Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local", Users = users.Select(u => new LoggedUserConfig(u, null)).ToList() }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    [Test]
    public void EachRewriteGetsANewModificationSecondSoMod_firewallReloadsIt()
    {
        // mod_firewall compares whole seconds: three versions within one second must still have three different times.
        var seconds = new List<long>();
        foreach (var users in new[] { new[] { "alice@example.test" }, ["alice@example.test", "bob@example.test"], ["bob@example.test"] })
        {
            var script = ServerRulesWriter.Write(Config(users), Dir).Single(f => f.EndsWith(".pfw", StringComparison.Ordinal));
            seconds.Add(new DateTimeOffset(File.GetLastWriteTimeUtc(script)).ToUnixTimeSeconds());
            Assert.That(File.ReadAllText(script), Does.Contain(users[^1]));
        }
        Assert.That(seconds, Is.Unique.And.Ordered);
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(Path.Combine(Dir, "imlogger.cfg.lua")).HasFlag(UnixFileMode.OtherRead), Is.False, "the snippet holds the secret");
    }
}

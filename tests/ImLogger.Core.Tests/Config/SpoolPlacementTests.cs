using ImLogger.Config;

namespace ImLogger.Core.Tests.Config;

/// <summary>A spool inside a folder the config watcher watches costs CPU on every write; the operator is told so.</summary>
[TestFixture]
public class SpoolPlacementTests
{
    private static ImLoggerConfig Config(string configPath, string spoolPath, params string[] referenced) => new()
    {
        SourcePath = configPath,
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s3cret-component", SecretSource = "test" },
        SpoolPath = spoolPath,
        IdleClose = TimeSpan.FromMinutes(10),
        Endpoints = [new DirectoryEndpointConfig { Name = "a", Path = "/tmp/a" }],
        ReferencedFiles = referenced,
        Organizations = [],
    };

    [Test]
    public void SpoolApartFromTheConfig_NoNote() =>
        Assert.That(SpoolPlacement.Note(Config("/etc/imlogger/imlogger.xml", "/var/lib/imlogger/spool.db")), Is.Null);

    [Test]
    public void SpoolInASubfolderOfTheConfigsFolder_NoNote() =>
        // The watcher is not recursive (the samples' layout: spool/spool.db beside the config).
        Assert.That(SpoolPlacement.Note(Config("/srv/imlogger/imlogger.xml", "/srv/imlogger/spool/spool.db")), Is.Null);

    [Test]
    public void SpoolBesideTheConfig_IsNamedWithWhatToDo()
    {
        var note = SpoolPlacement.Note(Config("/srv/imlogger/imlogger.xml", "/srv/imlogger/spool.db"));
        Assert.That(note, Does.Contain("/srv/imlogger/spool.db").And.Contain("/srv/imlogger/imlogger.xml").And.Contain("folder of its own"));
    }

    [Test]
    public void SpoolBesideAFileTheConfigReads_IsNamed()
    {
        var note = SpoolPlacement.Note(Config("/etc/imlogger/imlogger.xml", "/srv/lists/spool.db", "/srv/lists/logged-users.csv"));
        Assert.That(note, Does.Contain("/srv/lists/logged-users.csv"));
    }

    [Test]
    public void SpoolInTheFolderAConfigLinkPointsTo_IsNamed()
    {
        // Attack: the config is a symbolic link into the spool's folder; the watcher watches the target's folder too.
        var dir = Directory.CreateTempSubdirectory("spoolplacement-");
        try
        {
            var real = Path.Combine(dir.FullName, "real");
            var etc = Path.Combine(dir.FullName, "etc");
            Directory.CreateDirectory(real);
            Directory.CreateDirectory(etc);
            File.WriteAllText(Path.Combine(real, "imlogger.xml"), "<imlogger/>");
            var link = Path.Combine(etc, "imlogger.xml");
            File.CreateSymbolicLink(link, Path.Combine(real, "imlogger.xml"));
            Assert.That(SpoolPlacement.Note(Config(link, Path.Combine(real, "spool.db"))), Does.Contain(link));
            Assert.That(SpoolPlacement.Note(Config(link, Path.Combine(dir.FullName, "var", "spool.db"))), Is.Null);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using System.Runtime.InteropServices;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Files;
using ImLogger.ServerRules;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Files;

/// <summary>
/// Under the usual shell umask 022, what ImLogger's code creates is still owner-only from the start: the spool and its
/// log and lock, the .eml files; the Prosody files are 0640 (Prosody reads them through the group) and the secret's
/// never readable by others, whatever mode a leftover or an older file had. (The real <c>imlogger</c> process narrows
/// its umask too: TapModeTests checks that run as a whole.)
/// </summary>
[TestFixture, NonParallelizable, System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FileModeTests
{
    private const UnixFileMode Rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode RwR = Rw | UnixFileMode.GroupRead;
    private const UnixFileMode RwRR = RwR | UnixFileMode.OtherRead;

    private TempDir _dir = null!;
    private uint _umask;

    [SetUp]
    public void SetUp()
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("Unix file modes");
        _umask = umask(0x12); // octal 022, the shell default that made the spool 0644
        _dir = new TempDir();
    }

    [TearDown]
    public void TearDown()
    {
        if (OperatingSystem.IsWindows()) return;
        umask(_umask);
        _dir.Dispose();
    }

#pragma warning disable SYSLIB1054
    [DllImport("libc")]
    private static extern uint umask(uint mask);
#pragma warning restore SYSLIB1054

    private static UnixFileMode Mode(string path) => File.GetUnixFileMode(path);

    [Test]
    public void Spool_FolderDataLogAndLock_AreOwnerOnly()
    {
        var folder = _dir.File("state/spool");
        var path = Path.Combine(folder, "spool.db");
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance, "key-from-file-0123456789"))
        {
            var header = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["dir"]);
            spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "hi", Events.T0))]);
            Assert.Multiple(() =>
            {
                Assert.That(Mode(folder), Is.EqualTo(OwnerOnlyFiles.Folder));
                Assert.That(Mode(path), Is.EqualTo(Rw));
                Assert.That(Mode(Path.Combine(folder, "spool-log.db")), Is.EqualTo(Rw), "LiteDB's log");
                Assert.That(Mode(path + ".lock"), Is.EqualTo(Rw));
            });
        }
        Assert.That(Directory.GetFiles(folder).Select(Mode), Is.All.EqualTo(Rw));
    }

    [Test]
    public void Spool_FilesAnEarlierVersionLeftReadable_AreNarrowedAtOpen()
    {
        var path = _dir.File("spool.db");
        new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance).Dispose();
        File.SetUnixFileMode(path, RwRR);
        File.SetUnixFileMode(path + ".lock", RwRR);
        var log = new ListLogger<LiteDbSpool>();

        new LiteDbSpool(path, log).Dispose();

        Assert.That(Mode(path), Is.EqualTo(Rw));
        Assert.That(Mode(path + ".lock"), Is.EqualTo(Rw));
        Assert.That(log.At(Microsoft.Extensions.Logging.LogLevel.Warning), Has.Some.Contains("was readable by others"));
    }

    [Test]
    public async Task Eml_AndTheFolderTheSinkCreates_AreOwnerOnly_EvenOverALeftoverTempFile()
    {
        var folder = _dir.File("archive");
        var sink = new DirectorySink("dir", folder, new TranscriptMessageBuilder("imlogger@archive.example.test"), NullLogger<DirectorySink>.Instance);
        var transcript = Events.Simple();

        var first = await sink.DeliverAsync(transcript, CancellationToken.None);
        // An interrupted write left a world-readable temp file; the redelivery must not inherit its mode.
        var temp = Path.Combine(folder, "." + Path.GetFileName(first) + ".tmp");
        File.WriteAllText(temp, "half");
        File.SetUnixFileMode(temp, RwRR);
        var second = await sink.DeliverAsync(transcript, CancellationToken.None);

        Assert.That(Mode(folder), Is.EqualTo(OwnerOnlyFiles.Folder));
        Assert.That(Mode(second), Is.EqualTo(Rw));
        Assert.That(Directory.GetFiles(folder), Has.Length.EqualTo(1));
    }

    private static ImLoggerConfig Config(AttachMode mode = AttachMode.Tap) => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s3cret-component", SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Attach = new AttachSettings { Mode = mode },
        Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local", Users = [new LoggedUserConfig("alice@example.test", null)] }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    [TestCase(AttachMode.Tap)]
    [TestCase(AttachMode.Inline)]
    public void ProsodyFiles_New_Are0640_InA0750Folder(AttachMode mode)
    {
        var folder = _dir.File("prosody/imlogger");
        var written = ServerRulesWriter.Write(Config(mode), folder);

        Assert.That(Mode(folder), Is.EqualTo(OwnerOnlyFiles.Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute));
        Assert.That(written.Select(Mode), Is.All.EqualTo(RwR));
        Assert.That(File.ReadAllText(written[0]), Does.Contain("s3cret-component"));
        Assert.That(Directory.GetFiles(folder), Is.EquivalentTo(written), "no temp file left");
    }

    [Test]
    public void Snippet_Rewritten_IsNeverReadableByOthers_WhileTheOperatorsModeOfTheScriptIsKept()
    {
        var written = ServerRulesWriter.Write(Config(), _dir.Path);
        var (snippet, script) = (written[0], written[1]);
        File.SetUnixFileMode(snippet, RwRR);   // an operator's chmod 644, or an older version
        File.SetUnixFileMode(script, RwRR);    // the firewall script holds no secret: its mode is the operator's
        File.WriteAllText(snippet + ".tmp", "leftover"); // an interrupted write
        File.SetUnixFileMode(snippet + ".tmp", RwRR);

        ServerRulesWriter.Write(Config(), _dir.Path);

        Assert.That(Mode(snippet), Is.EqualTo(RwR));
        Assert.That(Mode(script), Is.EqualTo(RwRR));
        Assert.That(File.ReadAllText(snippet), Does.Contain("s3cret-component"));
        Assert.That(File.Exists(snippet + ".tmp"), Is.False);
    }

    [Test]
    public void Snippet_Rewritten_KeepsTheOwnerAndGroupTheOperatorGaveIt()
    {
        if (!Environment.IsPrivilegedProcess || !OperatingSystem.IsLinux()) Assert.Ignore("needs root to give the file another owner");
        var snippet = ServerRulesWriter.Write(Config(), _dir.Path)[0];
        using (var chown = System.Diagnostics.Process.Start("chown", ["4242:4343", snippet])) chown.WaitForExit();
        Assert.That(OwnerOnlyFiles.OwnerOf(snippet), Is.EqualTo(((uint)4242, (uint)4343)), "the test's premise");

        var config = Config() with { Component = Config().Component with { Secret = "rotated-secret" } };
        ServerRulesWriter.Write(config, _dir.Path);

        Assert.That(OwnerOnlyFiles.OwnerOf(snippet), Is.EqualTo(((uint)4242, (uint)4343)));
        Assert.That(Mode(snippet), Is.EqualTo(RwR));
        Assert.That(File.ReadAllText(snippet), Does.Contain("rotated-secret"));
    }

    [Test]
    public async Task ASymlinkPlantedAtATempPath_IsNeverWrittenThrough()
    {
        // Someone who may write in the folder points the temp names at a file of theirs, hoping the secret or a
        // transcript lands there (or that the victim file is overwritten).
        var victim = _dir.File("victim");
        File.WriteAllText(victim, "untouched");
        File.SetUnixFileMode(victim, RwRR);
        var rules = _dir.File("rules");
        Directory.CreateDirectory(rules);
        File.CreateSymbolicLink(Path.Combine(rules, "imlogger.cfg.lua.tmp"), victim);
        var archive = _dir.File("archive");
        Directory.CreateDirectory(archive);
        var transcript = Events.Simple();
        File.CreateSymbolicLink(Path.Combine(archive, "." + DirectorySink.FileNameFor(transcript) + ".tmp"), victim);

        var snippet = ServerRulesWriter.Write(Config(), rules)[0];
        var eml = await new DirectorySink("dir", archive, new TranscriptMessageBuilder("imlogger@archive.example.test"), NullLogger<DirectorySink>.Instance)
            .DeliverAsync(transcript, CancellationToken.None);

        Assert.That(File.ReadAllText(victim), Is.EqualTo("untouched"));
        Assert.That(new FileInfo(snippet).LinkTarget, Is.Null);
        Assert.That(new FileInfo(eml).LinkTarget, Is.Null);
        Assert.That(Mode(snippet), Is.EqualTo(RwR));
        Assert.That(Mode(eml), Is.EqualTo(Rw));
    }
}

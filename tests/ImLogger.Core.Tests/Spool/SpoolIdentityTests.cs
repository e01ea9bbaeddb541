using ImLogger.Conversations;
using ImLogger.Seats;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>The spool cannot vanish silently: a marker outside the database names the spool that lived at the path, and a
/// missing, empty, replaced or older spool is refused unless the operator accepts a new one. Real LiteDB files.</summary>
[TestFixture]
public sealed class SpoolIdentityTests
{
    private TempDir _dir = null!;
    private string _path = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _path = _dir.File("spool.db");
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static LiteDbSpool Open(string path, bool accept = false) => new(path, NullLogger<LiteDbSpool>.Instance, null, accept);

    /// <summary>A spool with <paramref name="transcripts"/> closed transcripts waiting and one seen user.</summary>
    internal static string Fill(string path, int transcripts = 3, int events = 2)
    {
        using var spool = Open(path);
        return Fill(spool, transcripts, events);
    }

    internal static string Fill(LiteDbSpool spool, int transcripts = 3, int events = 2)
    {
        for (var t = 0; t < transcripts; t++)
        {
            var header = spool.OpenTranscript(ConversationType.OneToOne, $"alice@example.test bob{t}@example.test", Events.T0, ["dir"]);
            spool.Append(Enumerable.Range(0, events)
                .Select(i => new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", $"bob{t}@example.test", $"message {t}.{i}", Events.T0.AddSeconds(i))))
                .ToList());
            spool.Close(header.Id, Events.T0.AddMinutes(1));
        }
        spool.AddSeenUser(new SeenUser("carol@example.test", Events.T0));
        return spool.SpoolId;
    }

    [Test]
    public void FirstStartWritesAnOwnerOnlyMarkerWithTheSpoolsId()
    {
        string id;
        using (var spool = Open(_path)) id = spool.SpoolId;
        var marker = SpoolMarker.Read(_path)!;
        var mode = OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(SpoolMarker.PathFor(_path));
        Assert.Multiple(() =>
        {
            Assert.That(id, Has.Length.EqualTo(32));
            Assert.That(marker.SpoolId, Is.EqualTo(id));
            Assert.That(marker.SpoolPath, Is.EqualTo(_path));
            Assert.That(mode & (UnixFileMode)0x3F, Is.EqualTo((UnixFileMode)0), "owner-only");
        });
    }

    [Test]
    public void ZeroByteSpoolWithAMarkerIsRefusedAndLeftAsItWas()
    {
        Fill(_path);
        File.WriteAllBytes(_path, []);
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Message, Does.Contain(_path).And.Contain("empty (0 bytes)").And.Contain(SpoolMarker.PathFor(_path)));
            Assert.That(e.Message, Does.Contain("--accept-new-spool").And.Contain("spool salvage"));
            Assert.That(new FileInfo(_path).Length, Is.Zero, "nothing written over the evidence");
        });
    }

    [Test]
    public void DeletedSpoolWithAMarkerIsRefusedAndNotCreated()
    {
        Fill(_path);
        File.Delete(_path);
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain("is missing"));
        Assert.That(File.Exists(_path), Is.False);
    }

    [Test]
    public void AcceptNewSpoolStartsEmptyWithANewMarker()
    {
        var old = Fill(_path);
        File.WriteAllBytes(_path, []);
        using var spool = Open(_path, accept: true);
        Assert.Multiple(() =>
        {
            Assert.That(spool.Undelivered(), Is.Empty);
            Assert.That(spool.SpoolId, Is.Not.EqualTo(old));
            Assert.That(SpoolMarker.Read(_path)!.SpoolId, Is.EqualTo(spool.SpoolId));
        });
    }

    [Test]
    public void ReplacedByAnotherSpoolIsRefused()
    {
        Fill(_path);
        var other = _dir.File("other/spool.db");
        var otherId = Fill(other, transcripts: 1);
        File.Copy(other, _path, overwrite: true);
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain("another spool").And.Contain(otherId));
    }

    [Test]
    public void ForeignLiteDbFileWithoutIdentityIsRefused()
    {
        Fill(_path);
        File.Delete(_path);
        using (var db = new LiteDB.LiteDatabase(_path)) db.GetCollection("transcripts").Insert(new LiteDB.BsonDocument { ["_id"] = "x" });
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain("carries no identity"));
    }

    [Test]
    public void OlderCopyOfTheSameSpoolIsRefused()
    {
        Fill(_path);
        var backup = _dir.File("backup.db");
        File.Copy(_path, backup);
        Fill(_path, transcripts: 1); // more written since the backup: the generation moved on
        File.Copy(backup, _path, overwrite: true);
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain("older copy"));
    }

    [Test]
    public void DeletedMarkerWithTheSpoolIntactIsWrittenAnew()
    {
        var id = Fill(_path);
        File.Delete(SpoolMarker.PathFor(_path));
        using var spool = Open(_path);
        Assert.Multiple(() =>
        {
            Assert.That(spool.SpoolId, Is.EqualTo(id));
            Assert.That(spool.Undelivered(), Has.Count.EqualTo(3));
            Assert.That(SpoolMarker.Read(_path)!.SpoolId, Is.EqualTo(id));
        });
    }

    [Test]
    public void MarkerCopiedFromAnotherSpoolPathIsRefusedNamingThatPath()
    {
        Fill(_path);
        var other = _dir.File("other/spool.db");
        Fill(other);
        File.Copy(SpoolMarker.PathFor(other), SpoolMarker.PathFor(_path), overwrite: true);
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain(other));
    }

    [Test]
    public void GarbledMarkerSaysWhatToDo()
    {
        Fill(_path);
        File.WriteAllText(SpoolMarker.PathFor(_path), "not a marker");
        var e = Assert.Throws<InvalidDataException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain("delete"));
    }

    [Test]
    public void SpoolOfAnEarlierVersionGetsAnIdentity()
    {
        using (var db = new LiteDB.LiteDatabase(_path)) db.GetCollection("seen_users").Insert(new LiteDB.BsonDocument { ["_id"] = "u@example.test", ["seq"] = 1L, ["first"] = 0L });
        using var spool = Open(_path);
        Assert.That(spool.SeenUsers().Select(u => u.Jid), Is.EqualTo(new[] { "u@example.test" }));
        Assert.That(SpoolMarker.Read(_path)!.SpoolId, Is.EqualTo(spool.SpoolId));
    }

    [Test]
    public void WritesAdvanceTheMarkerAtTheWatchdogsPassNotPerWrite()
    {
        using var spool = Open(_path);
        var before = SpoolMarker.Read(_path)!.Generation;
        spool.AddSeenUser(new SeenUser("a@example.test", Events.T0));
        spool.AddSeenUser(new SeenUser("b@example.test", Events.T0));
        Assert.That(SpoolMarker.Read(_path)!.Generation, Is.EqualTo(before));
        Assert.That(spool.Watch(), Is.Null);
        Assert.That(SpoolMarker.Read(_path)!.Generation, Is.EqualTo(before + 1));
        Assert.That(spool.Watch(), Is.Null);
        Assert.That(SpoolMarker.Read(_path)!.Generation, Is.EqualTo(before + 1), "no write, no marker write");
    }

    [Test]
    public void DeletedWhileOpenIsNoticedSavedAndRefusesWrites()
    {
        var spool = Open(_path);
        try
        {
            var header = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["dir"]);
            spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "kept", Events.T0))]);
            Assert.That(spool.Watch(), Is.Null);
            File.Delete(_path);
            // written after the deletion, before the watchdog's pass: into the unlinked file, which the rescue copy keeps
            spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "late", Events.T0.AddSeconds(1)))]);
            var problem = spool.Watch();
            Assert.That(problem, Does.Contain("was deleted while running"));
            Assert.That(spool.Lost, Is.True);
            Assert.Throws<SpoolGoneException>(() => spool.AddSeenUser(new SeenUser("x@example.test", Events.T0)));
            var rescued = Directory.GetFiles(_dir.Path, "spool.db.deleted-*").Single();
            Assert.That(problem, Does.Contain(rescued));
            spool.Dispose();

            Assert.Throws<SpoolIdentityException>(() => Open(_path).Dispose(), "the restart refuses without the flag");
            File.Move(rescued, _path);
            using var back = Open(_path);
            Assert.That(back.Load(header.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "kept", "late" }));
        }
        finally
        {
            spool.Dispose();
        }
    }

    [Test]
    public void FolderEmptiedButTheSavedCopyLeftIsRefusedNamingTheCopy()
    {
        var spool = Open(_path);
        spool.AddSeenUser(new SeenUser("carol@example.test", Events.T0));
        File.Delete(_path);
        File.Delete(SpoolMarker.PathFor(_path));
        Assert.That(spool.Watch(), Does.Contain("deleted"));
        spool.Dispose();
        var saved = Directory.GetFiles(_dir.Path, "spool.db.deleted-*").Single();
        var e = Assert.Throws<SpoolIdentityException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain(saved));
        using var accepted = Open(_path, accept: true);
        Assert.That(accepted.SeenUsers(), Is.Empty);
    }

    [Test]
    public void ReplacedWhileOpenIsNoticed()
    {
        using var spool = Open(_path);
        var other = _dir.File("other.db");
        File.WriteAllBytes(other, []);
        File.Move(other, _path, overwrite: true);
        Assert.That(spool.Watch(), Does.Contain("replaced by another file"));
        Assert.That(Directory.GetFiles(_dir.Path, "spool.db.replaced-*"), Has.Length.EqualTo(1));
    }

    [Test]
    public void SpoolReachedThroughASymbolicLinkIsNotTakenForMoved()
    {
        var real = Directory.CreateDirectory(_dir.File("real")).FullName;
        var link = _dir.File("link");
        Directory.CreateSymbolicLink(link, real);
        using var spool = Open(Path.Combine(link, "spool.db"));
        spool.AddSeenUser(new SeenUser("a@example.test", Events.T0));
        Assert.That(spool.Watch(), Is.Null);
        File.Delete(Path.Combine(real, "spool.db"));
        Assert.That(spool.Watch(), Does.Contain("deleted"));
    }

    [Test]
    public void MovedWhileOpenSaysWhereItWent()
    {
        using var spool = Open(_path);
        var moved = _dir.File("moved.db");
        File.Move(_path, moved);
        Assert.That(spool.Watch(), Does.Contain("was moved to '" + moved + "'"));
    }
}

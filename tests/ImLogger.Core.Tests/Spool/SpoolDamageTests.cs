using System.Diagnostics;
using System.Security.Cryptography;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>Damaged spools: each problem is named for what it is (zero-filled, encrypted, damaged log, damaged page,
/// locked, read-only) with the least destructive step first, and salvage copies every readable record into a new spool
/// without touching the damaged one. Real LiteDB files, damaged on disk.</summary>
[TestFixture]
public sealed class SpoolDamageTests
{
    private const int PageSize = 8192;
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

    private static LiteDbSpool Open(string path, string? key = null) => new(path, NullLogger<LiteDbSpool>.Instance, key);

    private string LogPath => _dir.File("spool-log.db");

    /// <summary>Overwrites page <paramref name="page"/> with zeros (what a failing disk or a torn copy leaves).</summary>
    private void ZeroPage(int page)
    {
        using var stream = new FileStream(_path, FileMode.Open, FileAccess.Write);
        stream.Position = (long)page * PageSize;
        stream.Write(new byte[PageSize]);
    }

    /// <summary>The index of a data page of the events collection, somewhere in the middle of the file.</summary>
    private int MiddleEventPage()
    {
        var bytes = File.ReadAllBytes(_path);
        var pages = bytes.Length / PageSize;
        for (var p = pages / 2; p < pages; p++)
        {
            var page = bytes.AsSpan(p * PageSize, PageSize);
            if (page[4] == 4 && page.IndexOf("message "u8) >= 0) return p; // page type 4: data
        }
        throw new InvalidOperationException("no data page found");
    }

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));

    [Test]
    public void ZeroFilledSpoolIsCalledZeroFilledNotEncrypted()
    {
        File.WriteAllBytes(_path, new byte[4 * PageSize]);
        var e = Assert.Throws<InvalidDataException>(() => Open(_path))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Message, Does.Contain("zero-filled").And.Contain("not encrypted"));
            Assert.That(e.Message, Does.Not.Contain("password").And.Not.Contain("key file"));
        });
    }

    [Test]
    public void EncryptedSpoolWithoutOrWithTheWrongKeyIsCalledEncrypted()
    {
        using (var spool = Open(_path, "the-right-key-0123456789")) SpoolIdentityTests.Fill(spool);
        Assert.That(Assert.Throws<InvalidDataException>(() => Open(_path))!.Message, Does.Contain("is encrypted"));
        Assert.That(Assert.Throws<InvalidDataException>(() => Open(_path, "another-key-0123456789"))!.Message, Does.Contain("another key file"));
    }

    [Test]
    public void ZeroedPageIsSalvagedRecordByRecordAndTheLossCounted()
    {
        SpoolIdentityTests.Fill(_path, transcripts: 30, events: 20);
        ZeroPage(MiddleEventPage());
        var before = Hash(_path);

        var target = _dir.File("salvaged/spool.db");
        var report = SpoolSalvage.Salvage(_path, target);

        Assert.Multiple(() =>
        {
            Assert.That(Hash(_path), Is.EqualTo(before), "the damaged spool is not changed");
            Assert.That(File.Exists(_dir.File("spool-backup.db")), Is.False);
            Assert.That(report.Records["transcripts"], Is.EqualTo(30));
            Assert.That(report.Records["seen_users"], Is.EqualTo(1));
            Assert.That(report.Records["events"], Is.InRange(560, 599), "one page of events lost, no more");
            Assert.That(report.Problems, Is.Not.Empty);
            Assert.That(report.IncompleteTranscripts.Sum(t => t.Written - t.Found), Is.EqualTo(600 - report.Records["events"]));
        });
        // the salvaged spool opens, carries the damaged one's identity, and every complete transcript loads
        File.Delete(_path);
        File.Move(target, _path);
        using var spool = Open(_path);
        Assert.That(spool.SpoolId, Is.EqualTo(report.SpoolId));
        var complete = spool.Undelivered().Where(h => report.IncompleteTranscripts.All(t => t.Id != h.Id)).ToList();
        Assert.That(complete, Has.Count.EqualTo(30 - report.IncompleteTranscripts.Count));
        Assert.That(complete.All(h => spool.Load(h.Id)!.Events.Count == 20));
    }

    [Test]
    public void EncryptedSpoolIsSalvagedStillSealedAndOpensWithItsKey()
    {
        const string key = "the-right-key-0123456789";
        using (var spool = Open(_path, key)) SpoolIdentityTests.Fill(spool, transcripts: 30, events: 20);
        ZeroPage(MiddleEncryptedPage());
        var report = SpoolSalvage.Salvage(_path, _dir.File("salvaged/spool.db"));
        Assert.That(report.Records["events"], Is.InRange(500, 599));
        Assert.That(File.ReadAllBytes(_dir.File("salvaged/spool.db")).AsSpan().IndexOf("message 1."u8), Is.LessThan(0), "still sealed on disk");
        File.Delete(_path);
        File.Move(_dir.File("salvaged/spool.db"), _path);
        using var salvaged = Open(_path, key);
        var complete = salvaged.Undelivered().Where(h => report.IncompleteTranscripts.All(t => t.Id != h.Id)).ToList();
        Assert.That(complete.Select(h => salvaged.Load(h.Id)!.Events.Count), Is.Not.Empty.And.All.EqualTo(20));
    }

    /// <summary>A data page of events in the second half of an encrypted spool (sealed, so found by page layout only).</summary>
    private int MiddleEncryptedPage()
    {
        var bytes = File.ReadAllBytes(_path);
        var pages = bytes.Length / PageSize;
        for (var p = pages / 2; p < pages; p++)
            // A data page with one item: part of a stored batch of 20 sealed events (LiteDbSpool.Batches.cs), larger than a page;
            // headers and counters share their pages with several others.
            if (bytes[p * PageSize + 4] == 4 && bytes[p * PageSize + 23] == 1) return p;
        throw new InvalidOperationException("no data page found");
    }

    [Test]
    public void DamagedPageMetWhileRunningIsReportedWithSalvageAdviceAndRefusedAtTheNextOpen()
    {
        SpoolIdentityTests.Fill(_path, transcripts: 30, events: 20);
        ZeroPage(MiddleEventPage());
        using (var spool = Open(_path))
        {
            var e = Assert.Catch(() =>
            {
                foreach (var h in spool.Undelivered()) spool.Load(h.Id);
            })!;
            Assert.That(e, Is.TypeOf<InvalidDataException>());
            Assert.That(e.Message, Does.Contain("spool salvage --to"));
            Assert.That(spool.Watch(), Does.Contain("damaged page"));
            Assert.That(spool.Lost, Is.True);
        }
        var again = Assert.Throws<InvalidDataException>(() => Open(_path))!;
        Assert.That(again.Message, Does.Contain("damaged page").And.Contain("spool salvage"));
    }

    [Test]
    public void DamagedLogAdvisesMovingOnlyTheLogAside()
    {
        SpoolIdentityTests.Fill(_path);
        // a log of confirmed-looking pages with garbage: what a torn write or a bad copy leaves behind
        var garbage = new byte[2 * PageSize];
        new Random(14).NextBytes(garbage);
        File.WriteAllBytes(LogPath, garbage);
        var e = Assert.Catch(() => Open(_path).Dispose());
        if (e is null) Assert.Inconclusive("LiteDB ignored this damaged log; nothing to advise");
        Assert.That(e!.Message, Does.Contain("move only").And.Contain(LogPath).And.Contain("Do not move the data file"));
    }

    [Test]
    public void SalvageRefusesASpoolInUseAndAnExistingTarget()
    {
        using (var spool = Open(_path))
            Assert.That(Assert.Throws<IOException>(() => SpoolSalvage.Salvage(_path, _dir.File("new.db")))!.Message, Does.Contain("in use by a running imlogger"));
        File.WriteAllText(_dir.File("new.db"), "x");
        Assert.That(Assert.Throws<IOException>(() => SpoolSalvage.Salvage(_path, _dir.File("new.db")))!.Message, Does.Contain("already exists"));
    }

    [Test]
    public void SalvageOfAZeroFilledOrHeaderlessFileSaysNothingCanBeRead()
    {
        File.WriteAllBytes(_path, new byte[4 * PageSize]);
        Assert.That(Assert.Throws<InvalidDataException>(() => SpoolSalvage.Salvage(_path, _dir.File("a.db")))!.Message, Does.Contain("zero-filled"));
        SpoolIdentityTests.Fill(_dir.File("h.db"));
        File.Copy(_dir.File("h.db"), _path, overwrite: true);
        ZeroPage(0);
        Assert.That(Assert.Throws<InvalidDataException>(() => SpoolSalvage.Salvage(_path, _dir.File("b.db")))!.Message, Does.Contain("header"));
        Assert.That(File.Exists(_dir.File("b.db")), Is.False);
    }

    [Test]
    public void TruncatedSpoolIsAdvisedToSalvageAndSalvageKeepsTheRest()
    {
        SpoolIdentityTests.Fill(_path, transcripts: 30, events: 20);
        var length = new FileInfo(_path).Length;
        using (var stream = new FileStream(_path, FileMode.Open)) stream.SetLength(length / 2 / PageSize * PageSize);
        var report = SpoolSalvage.Salvage(_path, _dir.File("salvaged.db"));
        Assert.That(report.Records.GetValueOrDefault("events"), Is.GreaterThan(0).And.LessThan(600), "the first half is kept");
        Assert.That(report.Problems, Is.Not.Empty, "the lost half is counted");
        try
        {
            using var spool = Open(_path);
            foreach (var h in spool.Undelivered()) spool.Load(h.Id);
            Assert.Fail("a spool cut in half read as whole");
        }
        catch (InvalidDataException e)
        {
            Assert.That(e.Message, Does.Contain("spool salvage"));
        }
    }

    [Test]
    public void LockedSpoolIsCalledInUse()
    {
        using var first = Open(_path);
        var e = Assert.Throws<IOException>(() => Open(_path))!;
        Assert.That(e.Message, Does.Contain("in use by another process").And.Not.Contain("read-only"));
    }

    [Test]
    public void ReadOnlyFileSystemIsCalledReadOnlyNotInUse()
    {
        // Tests run as root, so a chmod would not stop writes: a read-only bind mount of a folder holding a spool does.
        var source = _dir.File("rw");
        var mount = _dir.File("ro");
        Directory.CreateDirectory(mount);
        SpoolIdentityTests.Fill(Path.Combine(source, "spool.db"));
        if (!Run("mount", "--bind", source, mount)) Assert.Ignore("cannot bind-mount here (needs CAP_SYS_ADMIN)");
        try
        {
            if (!Run("mount", "-o", "remount,bind,ro", mount)) Assert.Ignore("cannot remount read-only here");
            var e = Assert.Throws<IOException>(() => Open(Path.Combine(mount, "spool.db")))!;
            Assert.That(e.Message, Does.Contain("read-only file system").And.Not.Contain("another process"));
        }
        finally
        {
            Run("umount", mount);
        }
    }

    private static bool Run(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

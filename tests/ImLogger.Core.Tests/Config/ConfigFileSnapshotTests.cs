using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary>What counts as a change of a config file: bytes, size, time, a swapped link; and hostile files.</summary>
public class ConfigFileSnapshotTests : TempDirFixture
{
    [Test]
    public void ASymlinkSwappedToIdenticalBytesElsewhereIsAChange()
    {
        var a = Path.Combine(Dir, "a.csv");
        var b = Path.Combine(Dir, "b.csv");
        var link = Path.Combine(Dir, "users.csv");
        File.WriteAllText(a, "jid\nalice@example.test\n");
        File.Copy(a, b);
        File.SetLastWriteTimeUtc(b, File.GetLastWriteTimeUtc(a));
        File.CreateSymbolicLink(link, a);
        var before = ConfigFileSnapshot.Take([link]);
        File.Delete(link);
        File.CreateSymbolicLink(link, b);
        var after = ConfigFileSnapshot.Take([link]);
        Assert.That(after.ChangedSince(before), Is.EqualTo(new[] { link }));
        Assert.That(after.Files[link].Target, Is.EqualTo(b));
        Assert.That(after.Fingerprint(), Is.Not.EqualTo(before.Fingerprint()));
    }

    [Test]
    public void MissingAndEmptyFilesAreStatesNotExceptions()
    {
        var csv = Path.Combine(Dir, "users.csv");
        var missing = ConfigFileSnapshot.Take([csv]);
        Assert.That(missing.Files[csv].State, Is.EqualTo("missing"));
        File.WriteAllText(csv, "");
        var empty = ConfigFileSnapshot.Take([csv]);
        Assert.That(empty.Files[csv].State, Is.EqualTo("0 bytes"));
        Assert.That(empty.ChangedSince(missing), Is.EqualTo(new[] { csv }));
        Assert.That(missing.Unread.Select(f => f.Path), Is.EqualTo(new[] { csv }));
    }

    [Test]
    public void SameBytesRewrittenGiveTheSameFingerprintButAChangedTime()
    {
        var csv = Path.Combine(Dir, "users.csv");
        File.WriteAllText(csv, "jid\nalice@example.test\n");
        var before = ConfigFileSnapshot.Take([csv]);
        File.WriteAllText(csv, "jid\nalice@example.test\n");
        File.SetLastWriteTimeUtc(csv, File.GetLastWriteTimeUtc(csv).AddSeconds(5));
        var after = ConfigFileSnapshot.Take([csv]);
        Assert.That(after.Fingerprint(), Is.EqualTo(before.Fingerprint()), "the content is what a held change is recognised by");
        Assert.That(after.ChangedSince(before), Is.EqualTo(new[] { csv }), "but a new time means a writer was there: settle again");
    }

    [Test]
    public void AnUnreadableListIsAStateNamingWhy()
    {
        Assume.That(!OperatingSystem.IsWindows() && Environment.UserName != "root", "root reads a chmod 000 file");
        var csv = Path.Combine(Dir, "users.csv");
        File.WriteAllText(csv, "jid\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(csv, UnixFileMode.None);
        Assert.That(ConfigFileSnapshot.Take([csv]).Files[csv].State, Does.StartWith("unreadable"));
    }
}

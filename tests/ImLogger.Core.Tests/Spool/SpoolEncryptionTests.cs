using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>The optional encryption at rest: what is on disk is not readable without the key, and the key opens it again.</summary>
public sealed class SpoolEncryptionTests
{
    private const string Secret = "a distinctive archived sentence 7f3a";

    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static LiteDbSpool Open(string path, string? password) => new(path, NullLogger<LiteDbSpool>.Instance, password);

    private static string Store(LiteDbSpool spool)
    {
        var header = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["dir"]);
        spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", Secret, Events.T0))]);
        spool.Close(header.Id, Events.T0.AddMinutes(1));
        return header.Id;
    }

    private byte[] FilesOnDisk() =>
        Directory.GetFiles(_dir.Path).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).SelectMany(File.ReadAllBytes).ToArray();

    private static bool Contains(byte[] haystack, string text) =>
        haystack.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;

    [Test]
    public void Unencrypted_TheTextIsOnDisk_SoTheCheckBelowCanFail()
    {
        var path = _dir.File("spool.db");
        using (var spool = Open(path, null)) Store(spool);
        Assert.That(Contains(FilesOnDisk(), Secret), Is.True);
    }

    [Test]
    public void Encrypted_TheTextIsNotOnDisk_AndTheKeyOpensItAgain()
    {
        var path = _dir.File("spool.db");
        string id;
        using (var spool = Open(path, "key-from-file-0123456789")) id = Store(spool);

        Assert.That(Contains(FilesOnDisk(), Secret), Is.False);
        Assert.That(Contains(FilesOnDisk(), "alice@example.test"), Is.False);
        using var reopened = Open(path, "key-from-file-0123456789");
        Assert.That(reopened.Load(id)!.Events.Single().Text, Is.EqualTo(Secret));
    }

    [Test]
    public void Encrypted_WrongOrMissingKey_SaysSoInsteadOfCallingItCorrupt()
    {
        var path = _dir.File("spool.db");
        using (var spool = Open(path, "right-key")) Store(spool);

        var wrong = Assert.Throws<InvalidDataException>(() => Open(path, "wrong-key").Dispose())!;
        Assert.That(wrong.Message, Does.Contain("cannot be opened with the configured key"));
        var missing = Assert.Throws<InvalidDataException>(() => Open(path, null).Dispose())!;
        Assert.That(missing.Message, Does.Contain("is encrypted").And.Contain("key-file"));
    }
}

using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Spool;

/// <summary>Encryption at rest: records sealed with AES-GCM, bound to their ids. What is on disk is not readable without
/// the key, repeats nothing, and an altered or swapped record is detected and set aside, never delivered.</summary>
public sealed class SpoolEncryptionTests
{
    private const string Secret = "a distinctive archived sentence 7f3a";
    private const string Key = "key-from-file-0123456789";

    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string SpoolPath => _dir.File("spool.db");

    private static LiteDbSpool Open(string path, string? key) => new(path, NullLogger<LiteDbSpool>.Instance, key);

    private static string Store(LiteDbSpool spool, string text = Secret, int messages = 1)
    {
        var header = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["dir"]);
        spool.Append(Enumerable.Range(0, messages)
            .Select(i => new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", text, Events.T0.AddSeconds(i)))).ToList());
        spool.Close(header.Id, Events.T0.AddMinutes(1));
        return header.Id;
    }

    private byte[] FilesOnDisk() =>
        Directory.GetFiles(_dir.Path).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)).SelectMany(File.ReadAllBytes).ToArray();

    private static bool Contains(byte[] haystack, string text) =>
        haystack.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;

    /// <summary>The check: the 16-byte blocks of the file (at 16-byte offsets) that occur more than once,
    /// all-zero blocks (LiteDB's empty page space) left out.</summary>
    private static HashSet<string> RepeatedBlockSet(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var repeated = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i + 16 <= bytes.Length; i += 16)
        {
            var block = bytes.AsSpan(i, 16);
            if (!block.ContainsAnyExcept((byte)0)) continue;
            var hex = Convert.ToHexString(block);
            if (!seen.Add(hex)) repeated.Add(hex);
        }
        return repeated;
    }

    /// <summary>How many times a block of the file occurs again (the issue counted thousands under ECB).</summary>
    private static int RepeatedBlocks(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var repeats = 0;
        for (var i = 0; i + 16 <= bytes.Length; i += 16)
        {
            var block = bytes.AsSpan(i, 16);
            if (block.ContainsAnyExcept((byte)0) && !seen.Add(Convert.ToHexString(block))) repeats++;
        }
        return repeats;
    }

    /// <summary>Windows of the sealed records (at any offset) that are among the file's repeated blocks. What does repeat
    /// in an encrypted spool is LiteDB's page structure and the readable ids (transcript id in every event's key); never
    /// the ciphertext.</summary>
    private int SealedWindowsAmongRepeatedBlocks()
    {
        var repeated = RepeatedBlockSet(SpoolPath);
        using var db = new LiteDatabase(new ConnectionString { Filename = SpoolPath, Connection = ConnectionType.Direct, ReadOnly = true });
        var hits = 0;
        foreach (var doc in new StoredEventRecords(db).FindAll())
        {
            var blob = doc["sealed"].AsBinary;
            for (var i = 0; i + 16 <= blob.Length; i++)
                if (repeated.Contains(Convert.ToHexString(blob, i, 16))) hits++;
        }
        return hits;
    }

    /// <summary>Edits the stored documents of a closed spool directly, as someone with the file but not the key could.</summary>
    private void Tamper(Action<StoredEventRecords> edit)
    {
        using var db = new LiteDatabase(new ConnectionString { Filename = SpoolPath, Connection = ConnectionType.Direct });
        edit(new StoredEventRecords(db));
    }

    [Test]
    public void Unencrypted_TheTextIsOnDisk_SoTheCheckBelowCanFail()
    {
        using (var spool = Open(SpoolPath, null)) Store(spool);
        Assert.That(Contains(FilesOnDisk(), Secret), Is.True);
    }

    [Test]
    public void Encrypted_NeitherTheTextNorThePeerIsOnDisk_AndTheKeyOpensItAgain()
    {
        string id;
        using (var spool = Open(SpoolPath, Key)) id = Store(spool);

        Assert.That(Contains(FilesOnDisk(), Secret), Is.False);
        Assert.That(Contains(FilesOnDisk(), "bob@example.test"), Is.False, "the conversation key and the event's participants are sealed too");
        using var reopened = Open(SpoolPath, Key);
        var transcript = reopened.Load(id)!;
        Assert.That(transcript.Events.Single().Text, Is.EqualTo(Secret));
        Assert.That(transcript.ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
        Assert.That(reopened.Undelivered().Single().ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
    }

    [Test]
    public void RepeatedPlaintext_LeavesNoRepeatedCiphertextBlocks()
    {
        var text = string.Concat(Enumerable.Repeat("The quarterly numbers are confidential. ", 50)); // 2,000 characters
        using (var plain = Open(_dir.File("plain.db"), null)) Store(plain, text, messages: 100);
        using (var sealedSpool = Open(SpoolPath, Key)) Store(sealedSpool, text, messages: 100);

        Assert.That(RepeatedBlocks(_dir.File("plain.db")), Is.GreaterThan(1000), "the check sees repetition where there is some");
        Assert.That(SealedWindowsAmongRepeatedBlocks(), Is.Zero, "no block of ciphertext occurs twice in the file");
    }

    [Test]
    public void TheSamePlaintextTwice_GivesDifferentCiphertexts()
    {
        using var cipher = new SpoolCipher(Key);
        var plaintext = System.Text.Encoding.UTF8.GetBytes(Secret);
        var first = cipher.Seal(plaintext, "event:x");
        var second = cipher.Seal(plaintext, "event:x");

        Assert.That(first, Is.Not.EqualTo(second));
        Assert.That(first.AsSpan(0, 12).SequenceEqual(second.AsSpan(0, 12)), Is.False, "a fresh nonce each time");
        Assert.That(first, Has.Length.EqualTo(12 + plaintext.Length + 16), "nonce || ciphertext || tag");
        Assert.That(cipher.Open(first, "event:x"), Is.EqualTo(plaintext));
        Assert.That(cipher.Open(second, "event:x"), Is.EqualTo(plaintext));
    }

    [Test]
    public void AnyBitFlipped_OrAnotherRecordId_OrAnotherKey_IsDetected()
    {
        using var cipher = new SpoolCipher(Key);
        using var other = new SpoolCipher("another-key-0123456789");
        var sealedRecord = cipher.Seal(System.Text.Encoding.UTF8.GetBytes(Secret), "event:a");
        for (var i = 0; i < sealedRecord.Length; i++)
        {
            var copy = (byte[])sealedRecord.Clone();
            copy[i] ^= 0x01;
            Assert.Throws<SpoolRecordException>(() => cipher.Open(copy, "event:a"), $"byte {i}");
        }
        Assert.Throws<SpoolRecordException>(() => cipher.Open(sealedRecord, "event:b"));
        Assert.Throws<SpoolRecordException>(() => other.Open(sealedRecord, "event:a"));
        Assert.Throws<SpoolRecordException>(() => cipher.Open(sealedRecord[..20], "event:a"));
    }

    [Test]
    public void WrongOrMissingKey_SaysSoInsteadOfCallingItCorrupt()
    {
        using (var spool = Open(SpoolPath, Key)) Store(spool);

        var wrong = Assert.Throws<InvalidDataException>(() => Open(SpoolPath, "wrong-key-0123456789").Dispose())!;
        Assert.That(wrong.Message, Does.Contain("cannot be opened with the configured key").And.Contain("another key file"));
        var missing = Assert.Throws<InvalidDataException>(() => Open(SpoolPath, null).Dispose())!;
        Assert.That(missing.Message, Does.Contain("is encrypted").And.Contain("key-file"));
        Assert.That(wrong.Message + missing.Message, Does.Not.Contain(Key).And.Not.Contain("wrong-key-0123456789"), "keys never appear in messages");
    }

    [Test]
    public void AnAlteredRecord_FailsToLoad_WithItsId()
    {
        string id;
        using (var spool = Open(SpoolPath, Key)) id = Store(spool, messages: 2);
        Tamper(events =>
        {
            var doc = events.FindById(id + ":0000000001");
            var bytes = doc["sealed"].AsBinary;
            bytes[^20] ^= 0x80;
            doc["sealed"] = bytes;
            events.Update(doc);
        });

        using var reopened = Open(SpoolPath, Key);
        var e = Assert.Throws<SpoolRecordException>(() => reopened.Load(id))!;
        Assert.That(e.RecordId, Is.EqualTo($"event:{id}:0000000001"));
        Assert.That(e.Message, Does.Contain("fails authentication").And.Contain("quarantined").And.Contain("release-quarantined"));
    }

    [Test]
    public void SwappedRecords_AndAMovedSequence_AndAPlainRecordSlippedIn_AreAllDetected()
    {
        string id;
        using (var spool = Open(SpoolPath, Key)) id = Store(spool, messages: 3);
        Tamper(events =>
        {
            // swap the sealed content of events 0 and 1 (reordering the conversation)
            var a = events.FindById(id + ":0000000000");
            var b = events.FindById(id + ":0000000001");
            (a["sealed"], b["sealed"]) = (b["sealed"], a["sealed"]);
            events.Update(a);
            events.Update(b);
        });
        using (var reopened = Open(SpoolPath, Key)) Assert.Throws<SpoolRecordException>(() => reopened.Load(id));

        Tamper(events =>
        {
            var a = events.FindById(id + ":0000000000");
            var b = events.FindById(id + ":0000000001");
            (a["sealed"], b["sealed"]) = (b["sealed"], a["sealed"]); // back as they were
            events.Update(a);
            events.Update(b);
            var c = events.FindById(id + ":0000000002");
            c["seq"] = -1; // the readable order changed: the sealed one disagrees
            events.Update(c);
        });
        using (var reopened = Open(SpoolPath, Key)) Assert.That(Assert.Throws<SpoolRecordException>(() => reopened.Load(id))!.Message, Does.Contain("readable ids"));

        Tamper(events =>
        {
            // the record replaced by a forged one under the same id
            events.Update(SpoolDocuments.ToDocument(id, 2, Events.Chat("alice@example.test/laptop", "bob@example.test", "forged", Events.T0)));
        });
        using (var reopened = Open(SpoolPath, Key)) Assert.That(Assert.Throws<SpoolRecordException>(() => reopened.Load(id))!.Message, Does.Contain("not encrypted"));
    }

    [Test]
    public async Task AnAlteredTranscript_IsQuarantined_AndTheOthersAreDelivered()
    {
        string bad, good;
        using (var spool = Open(SpoolPath, Key))
        {
            bad = Store(spool);
            good = Store(spool, "an innocent message");
        }
        Tamper(events =>
        {
            var doc = events.FindById(bad + ":0000000000");
            var bytes = doc["sealed"].AsBinary;
            bytes[15] ^= 0x01;
            doc["sealed"] = bytes;
            events.Update(doc);
        });

        var spoolLog = new ListLogger<LiteDbSpool>();
        using var reopened = new LiteDbSpool(SpoolPath, spoolLog, Key);
        var delivered = new List<Transcript>();
        var sink = new Mock<ITranscriptSink>();
        sink.SetupGet(s => s.Name).Returns("dir");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => { delivered.Add(t); return Task.FromResult("ok"); });
        var log = new ListLogger<Dispatcher>();
        var dispatcher = new Dispatcher(reopened, reopened, [sink.Object], log, new FakeTimeProvider(Events.T0.AddHours(1)), new DispatcherOptions { QuickRetries = 0 });

        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(delivered.Single().Id, Is.EqualTo(good));
        Assert.That(reopened.Undelivered(), Is.Empty, "set aside: neither pending nor a dead letter (retrying cannot help)");
        var quarantined = reopened.Quarantined().Single();
        Assert.That(quarantined.TranscriptId, Is.EqualTo(bad));
        Assert.That(quarantined.RecordId, Is.EqualTo($"event:{bad}:0000000000"));
        Assert.That(quarantined.Problem, Does.Contain("fails authentication"));
        Assert.That(quarantined.Conversation, Does.Contain("alice@example.test bob@example.test"));
        Assert.That(spoolLog.At(Microsoft.Extensions.Logging.LogLevel.Error), Has.Some.Contains($"transcript {bad} is quarantined"));
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "a quarantined transcript is not tried again by itself");
        Assert.That(reopened.ReleaseQuarantined(null).Single().Released, Is.False, "still altered: it stays");
    }

    [Test]
    public void APageEncryptedSpoolOfAnEarlierVersion_IsConvertedAtOpen_AndNoLongerECB()
    {
        var text = string.Concat(Enumerable.Repeat("The quarterly numbers are confidential. ", 50));
        string id;
        using (var spool = Open(SpoolPath, null)) id = Store(spool, text, messages: 50);
        // What earlier versions wrote: the same documents, every page AES-ECB with LiteDB's password option.
        using (var db = new LiteDatabase(new ConnectionString { Filename = SpoolPath, Connection = ConnectionType.Direct }))
        {
            // LiteDB reopens the rebuilt file without the new password, and says so: the file is written by then.
            var reopen = Assert.Throws<LiteException>(() => db.Rebuild(new LiteDB.Engine.RebuildOptions { Password = Key }))!;
            Assert.That(reopen.Message, Does.Contain("encrypted"));
        }
        foreach (var backup in Directory.GetFiles(_dir.Path, "*-backup*")) File.Delete(backup);
        Assert.That(File.ReadAllBytes(SpoolPath)[0], Is.EqualTo(1), "LiteDB's page encryption marker");
        Assert.That(RepeatedBlocks(SpoolPath), Is.GreaterThan(1000), "the issue: ECB shows the repeated text as repeated blocks");

        var missing = Assert.Throws<InvalidDataException>(() => Open(SpoolPath, null).Dispose())!;
        Assert.That(missing.Message, Does.Contain("page encryption").And.Contain("key-file"));
        var wrong = Assert.Throws<InvalidDataException>(() => Open(SpoolPath, "wrong-key-0123456789").Dispose())!;
        Assert.That(wrong.Message, Does.Contain("cannot be opened with the configured key"));
        Assert.That(File.ReadAllBytes(SpoolPath)[0], Is.EqualTo(1), "a failed conversion leaves the spool as it was");

        using (var converted = Open(SpoolPath, Key))
        {
            var transcript = converted.Load(id)!;
            Assert.That(transcript.Events, Has.Count.EqualTo(50));
            Assert.That(transcript.Events.Select(e => e.Text), Is.All.EqualTo(text));
        }
        Assert.That(File.ReadAllBytes(SpoolPath)[0], Is.Zero, "no page encryption any more");
        Assert.That(SealedWindowsAmongRepeatedBlocks(), Is.Zero);
        Assert.That(Contains(FilesOnDisk(), "quarterly"), Is.False);
        Assert.That(Directory.GetFiles(_dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "spool.db", "spool.db.lock", "spool.db.identity" }), "no copy left behind");
    }

    [Test]
    public void AnUnencryptedSpoolWithRecords_IsEncryptedWhenAKeyIsConfigured()
    {
        string id;
        using (var spool = Open(SpoolPath, null)) id = Store(spool);
        Assert.That(Contains(FilesOnDisk(), Secret), Is.True);

        using (var spool = Open(SpoolPath, Key)) Assert.That(spool.Load(id)!.Events.Single().Text, Is.EqualTo(Secret));
        Assert.That(Contains(FilesOnDisk(), Secret), Is.False, "the plain file was replaced, not updated in place");
        Assert.That(Assert.Throws<InvalidDataException>(() => Open(SpoolPath, null).Dispose())!.Message, Does.Contain("is encrypted"));
    }

    [Test]
    public void AConversionKilledHalfway_LeavesTheSpoolAsItWas_AndTheNextStartConvertsIt()
    {
        string id;
        using (var spool = Open(SpoolPath, null)) id = Store(spool);
        // What a conversion killed mid-copy leaves: a partial copy beside the untouched spool.
        File.WriteAllBytes(SpoolPath + ".sealing", new byte[8192 * 3]);
        File.WriteAllText(_dir.File("spool.db-log.sealing"), "partial");

        using (var spool = Open(SpoolPath, Key)) Assert.That(spool.Load(id)!.Events.Single().Text, Is.EqualTo(Secret));
        Assert.That(Directory.GetFiles(_dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "spool.db", "spool.db.lock", "spool.db.identity" }));
        Assert.That(Contains(FilesOnDisk(), Secret), Is.False);
    }

    [Test]
    public void ASealedValueReplacedByText_OrAConversationKeyAltered_IsDetected_AndListingGoesOn()
    {
        string id;
        using (var spool = Open(SpoolPath, Key)) id = Store(spool, messages: 2);
        using (var db = new LiteDatabase(new ConnectionString { Filename = SpoolPath, Connection = ConnectionType.Direct }))
        {
            var events = new StoredEventRecords(db);
            var doc = events.FindById(id + ":0000000000");
            doc["sealed"] = "plain text where the ciphertext was";
            events.Update(doc);
            var transcripts = db.GetCollection("transcripts");
            var header = transcripts.FindById(id);
            var key = header["keySealed"].AsBinary;
            key[^1] ^= 0x01;
            header["keySealed"] = key;
            transcripts.Update(header);
        }

        using var reopened = Open(SpoolPath, Key);
        Assert.That(reopened.Undelivered().Single().ConversationKey, Is.EqualTo(SpoolDocuments.UnreadableKey), "status and report still list it");
        var e = Assert.Throws<SpoolRecordException>(() => reopened.Load(id))!;
        Assert.That(e.RecordId, Is.EqualTo("transcript-key:" + id));
    }

    /// <summary>The answered records keep a digest of each event's content, by which a copy sent again after a restart is
    /// known: a digest of a short text can be guessed by hashing candidates, so an encrypted spool seals it too.</summary>
    [Test]
    public void TheAnsweredRecordsContentDigestsAreSealedAndComeBackWithTheKey()
    {
        var digest = System.Security.Cryptography.SHA256.HashData("ok"u8);
        using (var spool = Open(SpoolPath, Key))
        {
            ((ImLogger.Domain.IAnsweredRequests)spool).RememberAnswered("req-1", [Events.Chat("alice@example.test/laptop", "bob@example.test", "ok", Events.T0)], [digest]);
            ((ImLogger.Domain.IAnsweredRequests)spool).FlushAnswered();
        }
        Assert.That(FilesOnDisk().AsSpan().IndexOf(digest) < 0, "the digest is not on disk in the clear");
        using (var spool = Open(SpoolPath, Key))
            Assert.That(((ImLogger.Domain.IAnsweredRequests)spool).AnsweredSince(TimeSpan.FromMinutes(5)).Single().Content, Is.EqualTo(digest));
    }
}

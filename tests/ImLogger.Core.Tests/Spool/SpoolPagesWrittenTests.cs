using System.Buffers.Binary;
using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>
/// What one inline request costs the disk (issues 15/16): the LiteDB pages a one-stanza batch writes into the log, on a
/// real spool file. LiteDB appends each committed transaction's dirty pages (8 KiB each) to its log until a checkpoint,
/// so the log's growth over one write is exactly what that write put on disk. Counted per collection from the pages'
/// own headers, so a failure says which collection grew back.
/// </summary>
[TestFixture]
public sealed class SpoolPagesWrittenTests
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

    private string LogPath => Path.Combine(_dir.Path, "spool-log.db");

    private static ConversationEvent Said(int n) =>
        Events.Chat("alice@example.test/laptop", "bob@example.test", $"message {n}", Events.T0.AddMilliseconds(n));

    /// <summary>One inline request as the ingest loop makes it: the verdict's answered record queued, then the batch's one
    /// event appended to an open transcript in one unit of work.</summary>
    private static void OneRequest(LiteDbSpool spool, string transcriptId, int n)
    {
        spool.RememberAnswered($"imlogger-{Guid.NewGuid():N}"[..20], [Said(n)]);
        spool.InOneWrite(() => spool.Append([new SpoolAppend(transcriptId, Said(n))]));
        spool.FlushAnswered(); // the pipeline's store ends with it (StanzaPipeline.Store): nothing left to write then
    }

    [Test]
    public void OneStanzaRequest_WritesAFewPages_NotOnePerCollectionAndIndex()
    {
        using var spool = new LiteDbSpool(_path, NullLogger<LiteDbSpool>.Instance);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        // Steady state: past the answered records' first prune (every 1,000), the log copied into the file once.
        for (var n = 0; n < 1100; n++) OneRequest(spool, id, n);
        spool.Watch();

        var perRequest = new List<Dictionary<string, int>>();
        for (var n = 0; n < 20; n++)
        {
            var before = new FileInfo(LogPath).Length;
            OneRequest(spool, id, 2000 + n);
            // A request whose commit crossed the checkpoint threshold emptied the log: its pages are not there to count.
            if (new FileInfo(LogPath).Length <= before) continue;
            perRequest.Add(PagesByCollection(before));
        }
        var collections = CollectionNames();
        var summary = perRequest.SelectMany(p => p).GroupBy(p => p.Key)
            .Select(g => $"{Name(g.Key, collections)} {g.Sum(p => p.Value) / (double)perRequest.Count:0.##}")
            .OrderBy(s => s, StringComparer.Ordinal);
        var average = perRequest.Average(p => p.Values.Sum());
        TestContext.Out.WriteLine($"pages per one-stanza request: {average:0.##} ({string.Join(", ", summary)})");
        // 12.7 before the answered records rode in the batch (7 of them for the answered collection's two indexes), 6.2 after,
        // 5.2 with the activity counters held until the once-a-second copy: the stored batch (its data page, the end of its
        // index and the tail node's page, the collection's free list), the transcript's header, sometimes the file header.
        // 13.7 again while FlushAnswered copied the records that had ridden in earlier batches after every batch, in a second
        // transaction with its own fsync (the records' random-key index pages are most of it).
        Assert.That(average, Is.LessThanOrEqualTo(6), "pages written per one-stanza request");
    }

    [Test]
    public void TheLogStaysShort_SoACheckpointNeverCopiesMoreThanAFewDozenPages()
    {
        // A checkpoint holds the spool while it copies every page of the log and fsyncs the data file: with LiteDB's
        // default of 1,000 pages that stall was the inline verdicts' p99 (docs/performance.md, "Checkpoints and the p99").
        using var spool = new LiteDbSpool(_path, NullLogger<LiteDbSpool>.Instance);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        long longest = 0;
        for (var n = 0; n < 600; n++)
        {
            OneRequest(spool, id, n);
            longest = Math.Max(longest, new FileInfo(LogPath).Length);
        }
        Assert.That(longest / PageSize, Is.LessThanOrEqualTo(LiteDbSpool.CheckpointPages + 16), "pages in LiteDB's log at most");
        Assert.That(longest / PageSize, Is.GreaterThan(LiteDbSpool.CheckpointPages / 2), "the log holds writes between checkpoints (no checkpoint per write)");
    }

    /// <summary>The pages appended to the log since it was <paramref name="from"/> bytes long, by (page type, collection).</summary>
    private Dictionary<string, int> PagesByCollection(long from)
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        using var log = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        log.Position = from;
        var page = new byte[PageSize];
        while (log.Read(page, 0, PageSize) == PageSize)
        {
            // LiteDB 5 page header: type at byte 4 (1 header, 2 collection, 3 index, 4 data), owning collection's page id at 19.
            var type = page[4] switch { 1 => "header", 2 => "collection", 3 => "index", 4 => "data", _ => "empty" };
            var collection = BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(19));
            var key = type is "header" or "empty" ? type : $"{type}:{(type == "collection" ? BinaryPrimitives.ReadUInt32LittleEndian(page) : collection)}";
            found[key] = found.GetValueOrDefault(key) + 1;
        }
        return found;
    }

    /// <summary>Collection page id to name, from the header page's collection list (byte 192 of page 0, a BSON document).</summary>
    private Dictionary<uint, string> CollectionNames()
    {
        var page = new byte[PageSize];
        using (var data = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            data.ReadExactly(page);
        var length = BinaryPrimitives.ReadInt32LittleEndian(page.AsSpan(192));
        var doc = BsonSerializer.Deserialize(page.AsSpan(192, length).ToArray());
        return doc.ToDictionary(kv => (uint)kv.Value.AsInt32, kv => kv.Key);
    }

    private static string Name(string key, Dictionary<uint, string> collections)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return key;
        var id = uint.Parse(key[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return $"{key[..colon]} {(collections.TryGetValue(id, out var name) ? name : "#" + id)}";
    }
}

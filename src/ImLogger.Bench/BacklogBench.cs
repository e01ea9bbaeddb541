using System.Diagnostics;
using ImLogger.Conversations;
using ImLogger.Spool;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Bench;

/// <summary>One backlog size's figures: what ingest (one-event appends, as inline verdicts do) costs while the dispatcher
/// and the operator read the spool, and what those reads cost.</summary>
internal sealed record BacklogResult(
    int Pending, double OpenMs, double ReopenMs, double DueMs, double StatusMs,
    (int Count, double P50, double P90, double P99, double Max) AppendWithDispatcher,
    (int Count, double P50, double P90, double P99, double Max) AppendWithStatus);

/// <summary>
/// The spool with 0, 10,000 and 100,000 closed transcripts owed to an endpoint that is down (every one failed, its next
/// attempt a day away), side by side in one run. The spool file is written directly with LiteDB in the format every
/// version reads (transcript headers and one event each), then opened with <see cref="LiteDbSpool"/>, which brings its
/// delivery queue up to date (the "open" column; once per start). Measured in process:
/// <list type="bullet">
/// <item>due: one <c>DueForDelivery("down", now, 50)</c>, median of 20 (the dispatcher calls it per endpoint every second);</item>
/// <item>status: what <c>imlogger spool status</c> reads, median of 5 (<see cref="StatusRead"/>);</item>
/// <item>append: 1,000 one-event appends to an open transcript, one after the other (each its own fsync, like an inline
/// verdict; at most 60 s), first with a dispatcher polling both endpoints every second, then with <c>spool status</c> run
/// back to back.</item>
/// </list>
/// </summary>
internal sealed partial class BacklogBench(BenchContext context, BenchOptions options)
{
    private const int Appends = 1_000;

    /// <summary>What <c>spool status</c> reads from the spool. Before the delivery queue it was <c>spool.Undelivered()</c>
    /// (and <c>OpenTranscripts()</c>); to measure that version, this is the one line to change.</summary>
    private static readonly Func<LiteDbSpool, int> StatusRead = s => s.Backlog().Count + s.UndeliveredCount() + s.OpenCount();

    public Task<IReadOnlyList<BacklogResult>> RunAsync() => Task.Run<IReadOnlyList<BacklogResult>>(() =>
        options.BacklogSizes.Select(Measure).ToList());

    private BacklogResult Measure(int pending)
    {
        var dir = Path.Combine(context.WorkDir, $"backlog-{pending}");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "spool.db");
        Console.Error.WriteLine($"   backlog {pending}: writing the spool");
        var now = DateTimeOffset.UtcNow;
        WriteBacklog(path, pending, now);

        var open = Stopwatch.StartNew();
        var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance);
        var openMs = open.Elapsed.TotalMilliseconds;
        Console.Error.WriteLine($"   backlog {pending}: opened in {openMs:0} ms; measuring");

        var due = Median(20, () => { if (spool.DueForDelivery("down", DateTimeOffset.UtcNow, 50).Count != 0) throw new InvalidOperationException("nothing should be due"); });
        var status = Median(5, () => StatusRead(spool));
        Console.Error.WriteLine($"   backlog {pending}: due {due:0.00} ms, status {status:0.0} ms; appends");
        var transcript = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", now, ["down", "up"]).Id;

        var withDispatcher = AppendsWhile(spool, transcript, stop =>
        {
            while (!stop.IsCancellationRequested)
            {
                spool.DueForDelivery("down", DateTimeOffset.UtcNow, 50);
                spool.DueForDelivery("up", DateTimeOffset.UtcNow, 50);
                stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
        });
        Console.Error.WriteLine($"   backlog {pending}: appends with spool status back to back");
        var withStatus = AppendsWhile(spool, transcript, stop =>
        {
            while (!stop.IsCancellationRequested) StatusRead(spool);
        });
        spool.Dispose();
        var reopen = Stopwatch.StartNew();
        using (new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance)) { }
        return new BacklogResult(pending, openMs, reopen.Elapsed.TotalMilliseconds, due, status, withDispatcher, withStatus);
    }

    private static (int, double, double, double, double) AppendsWhile(LiteDbSpool spool, string transcript, Action<CancellationToken> reader)
    {
        using var stop = new CancellationTokenSource();
        var background = Task.Factory.StartNew(() => reader(stop.Token), TaskCreationOptions.LongRunning);
        Thread.Sleep(50); // the reader is under way
        // Also bounded in time: before the delivery queue, 1,000 appends behind back-to-back status reads took many minutes.
        var latencies = new List<double>(Appends);
        var deadline = Stopwatch.StartNew();
        for (var i = 0; i < Appends && deadline.Elapsed < TimeSpan.FromSeconds(60); i++)
        {
            var e = Event(Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
            var watch = Stopwatch.StartNew();
            spool.Append([new SpoolAppend(transcript, e)]);
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }
        stop.Cancel();
        background.Wait();
        latencies.Sort();
        double At(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        return (latencies.Count, At(0.5), At(0.9), At(0.99), latencies[^1]);
    }

    private static double Median(int runs, Action action)
    {
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times[i] = watch.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[runs / 2];
    }

    private static ConversationEvent Event(string id, DateTimeOffset at) => new()
    {
        Id = id,
        ReceivedUtc = at,
        Kind = EventKind.Message,
        Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne,
        ConversationKey = "alice@example.test bob@example.test",
        From = "alice@example.test/laptop",
        To = "bob@example.test",
        SenderBareJid = "alice@example.test",
        Text = "a message of an ordinary length, about as long as most chat lines are",
        LoggedUsers = ["alice@example.test"],
        RawXml = "<message xmlns='jabber:client' type='chat' from='alice@example.test/laptop' to='bob@example.test' id='" + id +
                 "'><body>a message of an ordinary length, about as long as most chat lines are</body></message>",
    };

    /// <summary>Writes <paramref name="pending"/> closed transcripts, each with one event, all owed to "down" (failed once,
    /// next attempt a day after <paramref name="now"/>), in the spool's document format, in a few large transactions.</summary>
    private static void WriteBacklog(string path, int pending, DateTimeOffset now)
    {
        using var db = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct });
        var transcripts = db.GetCollection("transcripts");
        var events = db.GetCollection("events");
        const int chunk = 10_000;
        for (var start = 0; start < pending; start += chunk)
        {
            var headers = new List<BsonDocument>();
            var stored = new List<BsonDocument>();
            for (var i = start; i < Math.Min(pending, start + chunk); i++)
            {
                var id = Guid.NewGuid().ToString("N");
                var at = now.AddHours(-2).AddMilliseconds(i);
                headers.Add(new BsonDocument
                {
                    ["_id"] = id, ["type"] = "OneToOne", ["key"] = "alice@example.test bob@example.test",
                    ["opened"] = at.UtcTicks, ["lastEvent"] = at.UtcTicks, ["closed"] = at.AddMinutes(30).UtcTicks,
                    ["state"] = "Pending", ["eventCount"] = 1,
                    ["deliveries"] = new BsonArray(new BsonDocument
                    {
                        ["endpoint"] = "down", ["state"] = "Pending", ["attempts"] = 1, ["next"] = now.AddDays(1).UtcTicks,
                        ["error"] = "cannot connect to smtp.example.test:25: connection refused", ["partsAccepted"] = 0, ["eventsAccepted"] = 0,
                    }),
                });
                var e = Event(Guid.NewGuid().ToString("N"), at);
                stored.Add(new BsonDocument
                {
                    ["_id"] = id + ":0000000000", ["tid"] = id, ["seq"] = 0, ["id"] = e.Id, ["received"] = at.UtcTicks, ["kind"] = "Message",
                    ["direction"] = "Outgoing", ["ctype"] = "OneToOne", ["key"] = e.ConversationKey, ["from"] = e.From, ["to"] = e.To,
                    ["sender"] = e.SenderBareJid, ["text"] = e.Text, ["status"] = new BsonArray(), ["users"] = new BsonArray(new BsonValue("alice@example.test")),
                    ["raw"] = e.RawXml,
                });
            }
            db.BeginTrans();
            transcripts.InsertBulk(headers);
            events.InsertBulk(stored);
            db.Commit();
        }
        // The indexes every version has, so that opening measures only what the version itself does at open.
        transcripts.EnsureIndex("state");
        events.EnsureIndex("tid");
        events.EnsureIndex("id", unique: false);
        db.Checkpoint();
    }
}

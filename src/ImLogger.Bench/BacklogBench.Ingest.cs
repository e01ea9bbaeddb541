using System.Diagnostics;
using ImLogger.Conversations;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Bench;

/// <summary>Spool ingest at one size of undelivered history: events/s over a measured stretch of batched appends.</summary>
internal sealed record IngestResult(long PendingEvents, int Events, double EventsPerSecond, double CpuMsPer1000, double FillSeconds);

/// <summary>What the same appends cost while the spool is small and while it holds a large undelivered history.</summary>
internal sealed partial class BacklogBench
{
    /// <summary>Open transcripts the events are spread over, round-robin (as the memory section does).</summary>
    private const int IngestTranscripts = 10_000;

    /// <summary>Events per append: the ingest loop writes a batch of stanzas per transaction (up to 512).</summary>
    private const int IngestBatch = 100;

    /// <summary>Events appended (and timed) at each size.</summary>
    private const int IngestMeasured = 20_000;

    /// <summary>Fills one spool through <see cref="LiteDbSpool.Append"/> to each size in turn (smallest first) and, at each,
    /// times <see cref="IngestMeasured"/> events appended in batches of <see cref="IngestBatch"/> over
    /// <see cref="IngestTranscripts"/> open transcripts. The fill itself goes in batches of 5,000 (its time is printed too).</summary>
    public Task<IReadOnlyList<IngestResult>> IngestAsync() => Task.Run<IReadOnlyList<IngestResult>>(() =>
    {
        var dir = Path.Combine(context.WorkDir, "ingest");
        Directory.CreateDirectory(dir);
        var now = DateTimeOffset.UtcNow;
        using var spool = new LiteDbSpool(Path.Combine(dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
        var transcripts = new List<string>(IngestTranscripts);
        for (var i = 0; i < IngestTranscripts; i++)
            transcripts.Add(spool.OpenTranscript(ConversationType.OneToOne, $"alice@example.test user{i}@example.test", now, ["down"]).Id);
        long held = 0;
        var next = 0;
        var results = new List<IngestResult>();
        foreach (var size in options.IngestSizes.Order())
        {
            var fill = Stopwatch.StartNew();
            while (held < size)
            {
                var n = (int)Math.Min(5_000, size - held);
                spool.Append(Batch(transcripts, ref next, n, now));
                held += n;
                if (held % 100_000 == 0) Console.Error.WriteLine($"   ingest: {held} events in the spool ({fill.Elapsed.TotalSeconds:0} s)");
            }
            var fillSeconds = fill.Elapsed.TotalSeconds;
            // CPU as well as wall time: on a shared machine the wall rate says as much about the neighbours as about the spool.
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            for (var done = 0; done < IngestMeasured; done += IngestBatch) spool.Append(Batch(transcripts, ref next, IngestBatch, now));
            var rate = IngestMeasured / watch.Elapsed.TotalSeconds;
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / IngestMeasured;
            held += IngestMeasured;
            Console.Error.WriteLine($"   ingest at {size} pending events: {rate:0} events/s, {cpuMs:0.0} ms CPU per 1,000 events");
            results.Add(new IngestResult(size, IngestMeasured, rate, cpuMs, fillSeconds));
        }
        return results;
    });

    private static List<SpoolAppend> Batch(List<string> transcripts, ref int next, int n, DateTimeOffset now)
    {
        var batch = new List<SpoolAppend>(n);
        for (var i = 0; i < n; i++, next++)
            batch.Add(new SpoolAppend(transcripts[next % transcripts.Count], Event(Guid.NewGuid().ToString("N"), now.AddTicks(next))));
        return batch;
    }
}

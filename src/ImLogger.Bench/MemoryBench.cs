using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ImLogger.Bench;

/// <summary>Events spooled in one chunk of the growing-spool run.</summary>
internal sealed record SpoolChunk(long SpoolEventsBefore, int Events, TimeSpan Elapsed, double CpuMsPer1000);

internal sealed record MemoryResult(
    long IdleRss, int Conversations, long RssWithConversations, TimeSpan OpenTime,
    IReadOnlyList<SpoolChunk> Chunks, long RssWithSpool, long PeakRss, long SpoolBytes);

/// <summary>
/// Section 3: the real <c>imlogger run</c> process attached to <see cref="ReplayServer"/>: first one message in each of
/// N conversations (all stay open, idle-close is an hour), then more messages round-robin over them until the spool
/// holds the requested number of undelivered events, chunk by chunk so the cost per event can be watched as it grows.
/// </summary>
internal sealed partial class MemoryBench(BenchContext context, BenchOptions options)
{
    public async Task<MemoryResult> RunAsync()
    {
        var dir = context.NewDir("memory");
        await using var server = new ReplayServer();
        var configPath = BenchContext.WriteConfig(dir, server.Port);
        // Debug: the "Spooled N events (T since start)" line is how the bench knows the spool caught up.
        var imlogger = context.StartImLogger("bench", "Debug", "run", "--config", configPath, "--log-config", context.NLogConfig);
        try
        {
            await server.AcceptAsync(TimeSpan.FromSeconds(30));
            await imlogger.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "connected");
            await Task.Delay(1000);
            var idle = ProcessStats.Rss(imlogger.Pid);

            var conversations = options.Conversations;
            var open = Stopwatch.StartNew();
            await server.SendAsync(RecordedCopies.Conversations(conversations, 0, conversations), CancellationToken.None);
            await WaitSpooledAsync(imlogger, conversations);
            open.Stop();
            await Task.Delay(2000);
            var withConversations = ProcessStats.Rss(imlogger.Pid);
            Console.Error.WriteLine($"  {conversations} open conversations: RSS {withConversations / 1048576.0:0} MB");

            var chunks = new List<SpoolChunk>();
            long spooled = conversations;
            var chunkSize = Math.Max(conversations, options.SpoolEvents / 10);
            var runDeadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
            while (spooled < options.SpoolEvents && DateTime.UtcNow < runDeadline)
            {
                var n = (int)Math.Min(chunkSize, options.SpoolEvents - spooled);
                var payload = RecordedCopies.Conversations(conversations, (int)spooled, n);
                var cpu0 = ProcessStats.Cpu(imlogger.Pid);
                var watch = Stopwatch.StartNew();
                await server.SendAsync(payload, CancellationToken.None);
                await WaitSpooledAsync(imlogger, spooled + n);
                watch.Stop();
                var cpu = ProcessStats.Cpu(imlogger.Pid) - cpu0;
                chunks.Add(new SpoolChunk(spooled, n, watch.Elapsed, cpu.TotalMilliseconds * 1000 / n));
                Console.Error.WriteLine($"  spool {spooled + n} events: {n / watch.Elapsed.TotalSeconds:0} events/s in this chunk");
                spooled += n;
            }
            await Task.Delay(2000);
            var withSpool = ProcessStats.Rss(imlogger.Pid);
            var peak = ProcessStats.PeakRss(imlogger.Pid);
            var bytes = Directory.GetFiles(BenchContext.DataDir(dir), "spool*").Sum(f => new FileInfo(f).Length);
            return new MemoryResult(idle, conversations, withConversations, open.Elapsed, chunks, withSpool, peak, bytes);
        }
        finally
        {
            // A graceful stop would close and deliver every open transcript: not what this section measures.
            imlogger.Process.Kill();
            await imlogger.DisposeAsync();
        }
    }

    private static async Task WaitSpooledAsync(ImLoggerRun imlogger, long events)
    {
        await imlogger.WaitForLineAsync(l => SpooledTotal().Match(l) is { Success: true } m && long.Parse(m.Groups[1].Value) >= events,
            TimeSpan.FromSeconds(60 + events / 200), $"{events} events spooled"); // a ceiling: on a loaded machine 1,000 events/s is not reached
    }

    [GeneratedRegex(@"Spooled \d+ events \((\d+) since start\)")]
    private static partial Regex SpooledTotal();
}

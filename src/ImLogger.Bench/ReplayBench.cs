using System.Diagnostics;
using System.Xml;
using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Host;
using ImLogger.Ingest;
using ImLogger.Pipeline;
using ImLogger.Xmpp;
using Microsoft.Extensions.DependencyInjection;

namespace ImLogger.Bench;

/// <summary>One row of the component-alone table.</summary>
internal sealed record ReplayResult(string Stage, int Stanzas, long Events, TimeSpan Elapsed, TimeSpan Cpu, long AllocatedBytes = 0, TimeSpan GcPause = default)
{
    public double StanzasPerSecond => Stanzas / Elapsed.TotalSeconds;
}

/// <summary>
/// Section 2: recorded tap copies replayed over a loopback XEP-0114 socket into the real
/// <see cref="ComponentConnection"/> and <see cref="StanzaPipeline"/>, run by Core's <see cref="IngestLoop"/> as
/// `imlogger run` runs them (tap: up to 512 stanzas per spool write). Each row adds one stage, so the differences say
/// where the time goes.
/// </summary>
internal sealed class ReplayBench(BenchContext context, BenchOptions options)
{
    private enum Stage { Parse, Classify, Spool }

    public async Task<IReadOnlyList<ReplayResult>> RunAsync()
    {
        var recorded = RecordedCopies.Load(context.RecordedSession);
        var warmup = RecordedCopies.Repeat(recorded, Math.Min(20_000, options.ReplayStanzas));
        var payload = RecordedCopies.Repeat(recorded, options.ReplayStanzas);
        var results = new List<ReplayResult> { ParseOnly(payload, options.ReplayStanzas) };
        foreach (var stage in new[] { Stage.Parse, Stage.Classify, Stage.Spool })
        {
            await ReplayAsync(warmup, Math.Min(20_000, options.ReplayStanzas), stage); // JIT and caches
            var r = await ReplayAsync(payload, options.ReplayStanzas, stage);
            results.Add(r);
            Console.Error.WriteLine($"  {r.Stage}: {r.StanzasPerSecond:0} stanzas/s");
        }
        return results;
    }

    /// <summary>The ceiling: XmlReader (same settings as the component, no DTD) over the bytes in memory, no socket, no tree.</summary>
    private static ReplayResult ParseOnly(byte[] payload, int stanzas)
    {
        var document = new MemoryStream();
        document.Write("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>"u8);
        document.Write(payload);
        document.Write("</stream:stream>"u8);
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };
        long best = long.MaxValue, allocated = 0;
        TimeSpan cpu = default;
        for (var round = 0; round < 3; round++)
        {
            document.Position = 0;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            var start = Stopwatch.GetTimestamp();
            using (var reader = XmlReader.Create(document, settings))
            {
                while (reader.Read())
                {
                    if (reader.NodeType == XmlNodeType.Element && reader.HasAttributes) { while (reader.MoveToNextAttribute()) { _ = reader.Value; } }
                    else if (reader.NodeType == XmlNodeType.Text) _ = reader.Value;
                }
            }
            var ticks = Stopwatch.GetTimestamp() - start;
            if (ticks < best) { best = ticks; cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0; allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0; }
        }
        return new ReplayResult("XmlReader over the same bytes in memory (ceiling)", stanzas, 0, Stopwatch.GetElapsedTime(0, best), cpu, allocated);
    }

    private async Task<ReplayResult> ReplayAsync(byte[] payload, int stanzas, Stage stage)
    {
        var dir = context.NewDir("replay");
        await using var server = new ReplayServer();
        // The stages exactly as `imlogger run` wires them, from a config file like an operator's.
        var configPath = BenchContext.WriteConfig(dir, server.Port, notices: true);
        var services = new ServiceCollection().AddLogging();
        RunCommand.AddImLogger(services, ConfigLoader.Load(configPath, v => v == "IMLOGGER_COMPONENT_SECRET" ? "bench" : null));
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<StanzaPipeline>();
        var connection = provider.GetRequiredService<ComponentConnection>();
        var stages = new StagesUpTo(stage, pipeline, stanzas);
        var loop = new IngestLoop(new ComponentStanzaConnection(connection), stages, provider.GetRequiredService<ImLogger.Spool.ISpool>(),
            provider.GetRequiredService<ImLogger.Classifier.CopyDeduplicator>(), new IngestOptions { Inline = false }, TimeProvider.System,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<IngestLoop>.Instance);

        using var stop = new CancellationTokenSource();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var running = loop.RunAsync(stop.Token);
        await server.AcceptAsync(TimeSpan.FromSeconds(10));
        while (!connection.IsConnected) await Task.Delay(5);

        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var pause0 = GC.GetTotalPauseDuration();
        var start = Stopwatch.GetTimestamp();
        var sending = server.SendAsync(payload, bound.Token);
        await stages.AllSeen.Task.WaitAsync(bound.Token);
        var elapsed = Stopwatch.GetElapsedTime(start);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        var pause = GC.GetTotalPauseDuration() - pause0;
        await sending;
        await stop.CancelAsync();
        try { await running; } catch (OperationCanceledException) { }
        var seen = stages.Seen;
        var events = stages.Events;
        var name = stage switch
        {
            Stage.Parse => "ComponentConnection over loopback: parse into XElement, handler discards",
            Stage.Classify => "+ envelope, classifier, dedup, notifier (spooling off)",
            _ => "+ durable LiteDB spool (fsync per batch of up to 512)",
        };
        return new ReplayResult(name, seen, events, elapsed, cpu, allocated, pause);
    }

    /// <summary>The pipeline up to one stage: the loop batches, stores and answers as in production, and what the stage
    /// leaves out costs nothing. Counts what went through, and says when every stanza of the run was seen.</summary>
    private sealed class StagesUpTo(Stage stage, StanzaPipeline pipeline, int expected) : IIngestStages
    {
        private int _seen;
        private long _events;

        public TaskCompletionSource AllSeen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Seen => Volatile.Read(ref _seen);
        public long Events => Interlocked.Read(ref _events);
        public long SpooledCount => pipeline.SpooledCount;

        public (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Replies) Classify(IReadOnlyList<XElement> stanzas)
        {
            (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Replies) result = stage == Stage.Parse ? ([], []) : pipeline.Classify(stanzas);
            Interlocked.Add(ref _events, result.Events.Count);
            if (Interlocked.Add(ref _seen, stanzas.Count) >= expected && stage != Stage.Spool) AllSeen.TrySetResult();
            return result;
        }

        public IReadOnlyList<string> Store(IReadOnlyList<ConversationEvent> events)
        {
            if (stage != Stage.Spool) return [];
            var closed = pipeline.Store(events);
            if (Seen >= expected) AllSeen.TrySetResult();
            return closed;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Envelope;
using ImLogger.Host;
using ImLogger.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace ImLogger.Bench;

/// <summary>One stage of <see cref="AllocBench"/>: bytes allocated and thread CPU per stanza.</summary>
internal sealed record AllocStage(string Stage, int Stanzas, long Bytes, TimeSpan Cpu, string TopTypes = "-")
{
    public double BytesPerStanza => (double)Bytes / Stanzas;
    public double CpuMicrosPerStanza => Cpu.TotalMilliseconds * 1000 / Stanzas;
}

/// <summary>
/// The replay's recorded copies through each stage in this process, on one thread, no socket: bytes allocated per stanza
/// (<see cref="GC.GetTotalAllocatedBytes"/>, precise; nothing else runs) and CPU per stanza, stage by stage. Allocation
/// does not depend on the machine's load, so this is the figure to compare before and after a change; the CPU figure is
/// read with the load average beside it.
/// </summary>
internal sealed class AllocBench(BenchContext context, BenchOptions options)
{
    private const int Batch = 512; // the ingest loop's largest tap batch

    public IReadOnlyList<AllocStage> Run()
    {
        var recorded = RecordedCopies.Load(context.RecordedSession);
        var count = Math.Min(options.ReplayStanzas, 50_000);
        var lines = Encoding.UTF8.GetString(RecordedCopies.Repeat(recorded, count)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Warm the JIT and the caches first on a pipeline of its own, then measure on a fresh one.
        Measure(lines.Take(Math.Min(5_000, lines.Length)).ToArray());
        return Measure(lines);
    }

    private List<AllocStage> Measure(string[] lines)
    {
        var results = new List<AllocStage>();
        results.Add(Time("parse each copy into XElement (XElement.Parse)", lines.Length, () => { foreach (var l in lines) _ = XElement.Parse(l); }));

        using (var decodeOnly = Provider())
        {
            var decoder = decodeOnly.GetRequiredService<EnvelopeDecoder>();
            var copies = Parse(lines);
            results.Add(Time("envelope decode", copies.Count, () => { foreach (var c in copies) _ = decoder.Decode(c); }));
        }
        using (var classifyOnly = Provider())
        {
            var decoder = classifyOnly.GetRequiredService<EnvelopeDecoder>();
            var classifier = classifyOnly.GetRequiredService<StanzaClassifier>();
            var envelopes = Parse(lines).Select(c => decoder.Decode(c).Envelope).OfType<TapEnvelope>().ToList();
            results.Add(Time($"classifier alone ({envelopes.Count} decoded copies)", lines.Length, () => { foreach (var e in envelopes) _ = classifier.Classify(e); }));
        }
        using (var full = Provider())
        {
            var pipeline = full.GetRequiredService<StanzaPipeline>();
            var copies = Parse(lines);
            var batches = copies.Chunk(Batch).ToList();
            var classified = new List<IReadOnlyList<ConversationEvent>>();
            results.Add(Time("StanzaPipeline.Classify: decode, classify, coverage, dedup, notifier, policy", copies.Count,
                () => { foreach (var b in batches) classified.Add(pipeline.Classify(b).Events); }));
            results.Add(Time($"StanzaPipeline.Store: tracker + durable LiteDB spool ({classified.Sum(c => c.Count)} events)", copies.Count,
                () => { foreach (var events in classified) pipeline.Store(events); }));
        }
        // Inline: verdict requests of 1, 10 and 40 held messages (the module's requests at low rates, and with its 20 ms
        // linger at 500 and 2,000 msg/s), each classified and stored in a transaction of its own as the ingest loop does.
        foreach (var per in new[] { 1, 10, 40 })
        {
            using var inline = Provider("""<attach mode="inline" failure-mode="closed" timeout="10s" />""");
            var pipeline = inline.GetRequiredService<StanzaPipeline>();
            var stanzas = Math.Min(lines.Length, 20_000) / per * per;
            var requests = Enumerable.Range(0, stanzas / per)
                .Select(i => XElement.Parse(Encoding.UTF8.GetString(PacedBench.Stanzas(true, i * per, per)))).ToList();
            results.Add(Time($"inline, {per} a request: StanzaPipeline.Classify and Store per request", stanzas,
                () => { foreach (var r in requests) pipeline.Store(pipeline.Classify([r]).Events); }));
        }
        return results;
    }

    /// <summary>Managed memory each open conversation keeps (after a full collection), and, with IMLOGGER_BENCH_GCDUMP set to
    /// a file path, a heap dump at that point (<c>dotnet-gcdump report FILE</c> lists what holds it).</summary>
    public (int Conversations, long RetainedBytes) Retained()
    {
        var conversations = options.Conversations;
        using var provider = Provider();
        var pipeline = provider.GetRequiredService<StanzaPipeline>();
        pipeline.Store(pipeline.Classify(Parse(Lines(RecordedCopies.Conversations(1, 0, 1)))).Events); // the stages' own start-up
        var before = GC.GetTotalMemory(forceFullCollection: true);
        const int Chunk = 512;
        for (var first = 0; first < conversations; first += Chunk)
        {
            var batch = Parse(Lines(RecordedCopies.Conversations(conversations, 1_000_000 + first, Math.Min(Chunk, conversations - first))));
            pipeline.Store(pipeline.Classify(batch).Events);
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        if (Environment.GetEnvironmentVariable("IMLOGGER_BENCH_GCDUMP") is { Length: > 0 } dump)
        {
            using var gcdump = Process.Start("dotnet-gcdump", ["collect", "-p", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "-o", dump]);
            gcdump.WaitForExit();
        }
        GC.KeepAlive(pipeline);
        return (conversations, after - before);
    }

    private static string[] Lines(byte[] copies) => Encoding.UTF8.GetString(copies).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private ServiceProvider Provider(string? attach = null)
    {
        var dir = context.NewDir("alloc");
        var configPath = BenchContext.WriteConfig(dir, 5269, attach, notices: true);
        var services = new ServiceCollection().AddLogging();
        RunCommand.AddImLogger(services, ConfigLoader.Load(configPath, v => v == "IMLOGGER_COMPONENT_SECRET" ? "bench" : null));
        return services.BuildServiceProvider();
    }

    private static List<XElement> Parse(string[] lines) => lines.Select(l => XElement.Parse(l)).ToList();

    private static readonly AllocationTypes Types = new();

    private static AllocStage Time(string stage, int stanzas, Action run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Types.Start();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        run();
        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        return new AllocStage(stage, stanzas, bytes, cpu, Types.Stop());
    }

    public static string Table(IReadOnlyList<AllocStage> stages, (int Conversations, long RetainedBytes) retained)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine().AppendLine(inv, $"### 2b. Allocation by stage, in process ({stages[0].Stanzas} recorded copies, one thread, no socket; load average {LoadAverage()})");
        s.AppendLine().AppendLine("| stage | allocated bytes/stanza | process CPU µs/stanza | types the bytes went to (sampled) |").AppendLine("|---|---|---|---|");
        foreach (var r in stages) s.AppendLine(inv, $"| {r.Stage} | {r.BytesPerStanza:0} | {r.CpuMicrosPerStanza:0.0} | {r.TopTypes} |");
        s.AppendLine().AppendLine(inv, $"Managed memory kept per open conversation ({retained.Conversations} opened by one chat message each, through Classify and Store, after a full collection): {retained.RetainedBytes / (double)retained.Conversations:0} bytes.");
        return s.ToString();
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}

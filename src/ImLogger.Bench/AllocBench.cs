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
internal sealed record AllocStage(string Stage, int Stanzas, long Bytes, TimeSpan Cpu)
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
        return results;
    }

    private ServiceProvider Provider()
    {
        var dir = context.NewDir("alloc");
        var configPath = BenchContext.WriteConfig(dir, 5269, notices: true);
        var services = new ServiceCollection().AddLogging();
        RunCommand.AddImLogger(services, ConfigLoader.Load(configPath, v => v == "IMLOGGER_COMPONENT_SECRET" ? "bench" : null));
        return services.BuildServiceProvider();
    }

    private static List<XElement> Parse(string[] lines) => lines.Select(l => XElement.Parse(l)).ToList();

    private static AllocStage Time(string stage, int stanzas, Action run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        run();
        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        return new AllocStage(stage, stanzas, bytes, cpu);
    }

    public static string Table(IReadOnlyList<AllocStage> stages)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine().AppendLine(inv, $"### 2b. Allocation by stage, in process ({stages[0].Stanzas} recorded copies, one thread, no socket; load average {LoadAverage()})");
        s.AppendLine().AppendLine("| stage | allocated bytes/stanza | process CPU µs/stanza |").AppendLine("|---|---|---|");
        foreach (var r in stages) s.AppendLine(inv, $"| {r.Stage} | {r.BytesPerStanza:0} | {r.CpuMicrosPerStanza:0.0} |");
        return s.ToString();
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}

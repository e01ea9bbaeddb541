using System.Globalization;
using System.Text;

namespace ImLogger.Bench;

/// <summary>Flags of <c>imlogger-bench</c> (bench.sh passes them through).</summary>
internal sealed record BenchOptions
{
    public IReadOnlyList<double> Rates { get; init; } = [500, 1000, 2000];
    public double SecondsPerRate { get; init; } = 5;
    public int FlatOutMessages { get; init; } = 20_000;
    public int LoadRounds { get; init; } = 1;
    public int ReplayStanzas { get; init; } = 200_000;
    public int Conversations { get; init; } = 10_000;
    public int SpoolEvents { get; init; } = 1_000_000;
    public HashSet<string> Sections { get; init; } = ["load", "replay", "memory", "backlog", "inline-backlog", "drill", "scale"];
    public IReadOnlyList<int> BacklogSizes { get; init; } = [0, 10_000, 100_000];
    public IReadOnlyList<int> IngestSizes { get; init; } = [10_000, 1_000_000];
    public IReadOnlyList<int> InlineBacklogSizes { get; init; } = [0, 100_000];
    public double InlineBacklogRate { get; init; } = 2000;
    public double InlineBacklogSeconds { get; init; } = 10;
    public int InlineBacklogRounds { get; init; } = 2;
    public bool Nagle { get; init; }
    public bool SkipInline { get; init; }
    public bool SkipEjabberd { get; init; }
    public int ScalePairs { get; init; } = 8;
    public double ScaleCpu { get; init; } = 0.1;
    public IReadOnlyList<string> InlineModules { get; init; } = [];
    public bool InlineFloor { get; init; }
    public double DrillRate { get; init; } = 500;
    public double DrillSeconds { get; init; } = 12;
    public string? PacedBaseline { get; init; }
    public int PacedPerRequest { get; init; } = 1;

    public const string Usage = """
        imlogger-bench [options]     (run through ./bench.sh, which builds in Release first)
          --only load,paced,replay,alloc,memory,backlog,inline-backlog,drill,scale  sections to run (default: all but paced; alloc runs with replay; ingest = the backlog section's ingest part alone)
          --rates 500,1000,2000      fixed offered rates for the load section (msg/s)
          --seconds 5                seconds of load at each fixed rate
          --flat-out 20000           messages sent as fast as possible in the load section
          --load-rounds 1            rounds of the load section: each runs every mode at every rate, the modes' order reversed every
                                     other round; with 2 or more, each round's tables, then the medians over rounds and issues 15/16's
                                     targets as a ratio per round (both sides from that round) and the median of those ratios
          --replay 200000            stanzas replayed to the component alone
          --conversations 10000      open conversations for the memory section
          --spool-events 1000000     undelivered events in the spool for the memory section
          --no-inline                only Prosody alone and tap mode in the load section
          --no-ejabberd              leave out the ejabberd columns (ejabberd alone, ejabberd inline) of the load section and the scale section's ejabberd rows
          --scale-pairs 8            one-to-one conversations sent flat out in the scale section (one vs two instances, Prosody then ejabberd)
          --scale-cpu 0.1            the scale section also runs one vs two instances each held to this many CPUs (a cgroup quota, as on a host of
                                     its own: the aggregate then shows what a second instance adds); 0 leaves those rows out
          --inline-module FILE       also inline with this mod_imlogger_inline.lua (repeatable; e.g. the base branch's)
          --inline-floor             beside each Prosody inline column, its floor: the same module answered by a component that
                                     allows every item at once and stores nothing (what the protocol costs before ImLogger works)
          --backlog 0,10000,100000   transcripts owed to a dead endpoint in the backlog section
          --inline-backlog 0,100000  transcripts owed to a dead endpoint when imlogger starts (inline-backlog section: end to end through Prosody)
          --inline-backlog-rate 2000 messages a second in the inline-backlog section's measured step
          --inline-backlog-seconds 10  seconds of that step
          --inline-backlog-rounds 2  rounds (each runs every size once, alternating, so drift in the load hits all alike)
          --drill-rate 500           messages a second (all 20 senders together) in the restart drill
          --drill-seconds 12         seconds of flow in each drill (imlogger goes away a third of the way in)
          --ingest 10000,1000000     undelivered events in the spool when its ingest rate is measured (backlog section)
          --paced-baseline DLL       the paced section also measures this imlogger.dll (another build), alternating with this tree's
          --paced-per-request 1      stanzas in each inline request of the paced section (the module's linger gathers 5-30 at 500-2,000 msg/s)
          --nagle                    keep Prosody's default (Nagle on): adds ~40 ms steps to every mode's latency
        """;

    private static int AtLeastOne(string option, int n) =>
        n >= 1 ? n : throw new ArgumentException($"{option} needs a whole number of at least 1 (1 measures each mode once), not {n}");

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--only" => o with { Sections = Value().Split(',').ToHashSet() },
                "--rates" => o with { Rates = Value().Split(',').Select(r => double.Parse(r, CultureInfo.InvariantCulture)).ToList() },
                "--seconds" => o with { SecondsPerRate = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--flat-out" => o with { FlatOutMessages = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--load-rounds" => o with { LoadRounds = AtLeastOne("--load-rounds", int.Parse(Value(), CultureInfo.InvariantCulture)) },
                "--replay" => o with { ReplayStanzas = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--conversations" => o with { Conversations = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--spool-events" => o with { SpoolEvents = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--backlog" => o with { BacklogSizes = Value().Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToList() },
                "--ingest" => o with { IngestSizes = Value().Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToList() },
                "--inline-backlog" => o with { InlineBacklogSizes = Value().Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToList() },
                "--inline-backlog-rate" => o with { InlineBacklogRate = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--inline-backlog-seconds" => o with { InlineBacklogSeconds = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--inline-backlog-rounds" => o with { InlineBacklogRounds = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--nagle" => o with { Nagle = true },
                "--paced-baseline" => o with { PacedBaseline = Value() },
                "--paced-per-request" => o with { PacedPerRequest = Math.Max(1, int.Parse(Value(), CultureInfo.InvariantCulture)) },
                "--drill-rate" => o with { DrillRate = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--drill-seconds" => o with { DrillSeconds = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--no-inline" => o with { SkipInline = true },
                "--no-ejabberd" => o with { SkipEjabberd = true },
                "--scale-pairs" => o with { ScalePairs = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--scale-cpu" => o with { ScaleCpu = double.Parse(Value(), CultureInfo.InvariantCulture) },
                "--inline-module" => o with { InlineModules = [.. o.InlineModules, Value()] },
                "--inline-floor" => o with { InlineFloor = true },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }
        return o;
    }
}

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args is ["-h" or "--help"]) { Console.WriteLine(BenchOptions.Usage); return 0; }
        if (args is ["floor-component", var port, var jid]) return await FloorComponent.RunAsync(int.Parse(port, CultureInfo.InvariantCulture), jid);
        BenchOptions options;
        try { options = BenchOptions.Parse(args); }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            await Console.Error.WriteLineAsync($"imlogger-bench: {e.Message}\n\n{BenchOptions.Usage}");
            return 64;
        }
        var root = FindRepoRoot();
        var work = Path.Combine(root, ".work", "bench");
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        Directory.CreateDirectory(work);
        var context = new BenchContext(root, work);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"imlogger-bench {string.Join(' ', args)}  ({Environment.ProcessorCount} CPUs, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");

        if (options.Sections.Contains("load"))
        {
            Console.Error.WriteLine("== load: Prosody alone vs with ImLogger");
            var modes = new List<ServerMode> { LoadBench.Alone, LoadBench.Tap() };
            if (!options.SkipInline) modes.Add(LoadBench.Inline());
            modes.AddRange(options.InlineModules.Select(LoadBench.Inline));
            if (options.InlineFloor) modes.AddRange(modes.Where(m => m.Attach != null && m.Server == "prosody").Select(LoadBench.FloorOf).ToList());
            // Issue 18: ejabberd alone and with the inline module, in the same run (skipped, and said, without ejabberd).
            if (!options.SkipEjabberd && EjabberdRig.Installed) modes.AddRange([LoadBench.EjabberdAlone, LoadBench.EjabberdInline()]);
            else if (!options.SkipEjabberd) Console.Error.WriteLine("  (ejabberd is not installed: no ejabberd columns; apt-get install ejabberd erlang-dev)");
            if (options.LoadRounds > 1)
                report.Append(Tables.LoadRounds(await new LoadBench(context, options).RunRoundsAsync(modes, options.LoadRounds)));
            else
                report.Append(Tables.Load(await new LoadBench(context, options).RunAsync(modes)));
        }
        if (options.Sections.Contains("paced"))
        {
            Console.Error.WriteLine("== paced: ImLogger alone at fixed rates, idle and loaded");
            report.Append(PacedBench.Table(await new PacedBench(context, options).RunAsync()));
        }
        if (options.Sections.Contains("replay"))
        {
            Console.Error.WriteLine("== replay: the component alone");
            report.Append(Tables.Replay(await new ReplayBench(context, options).RunAsync()));
        }
        if (options.Sections.Contains("alloc") || options.Sections.Contains("replay"))
        {
            Console.Error.WriteLine("== alloc: bytes allocated per stanza, stage by stage, in process");
            var alloc = new AllocBench(context, options);
            report.Append(AllocBench.Table(alloc.Run(), alloc.Retained()));
        }
        if (options.Sections.Contains("memory"))
        {
            Console.Error.WriteLine("== memory: open conversations and a large spool");
            report.Append(Tables.Memory(await new MemoryBench(context, options).RunAsync()));
        }
        if (options.Sections.Contains("backlog"))
        {
            Console.Error.WriteLine("== backlog: ingest beside a dead endpoint's backlog");
            var backlog = new BacklogBench(context, options);
            var ingest = await backlog.IngestAsync();
            report.Append(Tables.Backlog(await backlog.RunAsync()));
            report.Append(Tables.Ingest(ingest));
        }
        else if (options.Sections.Contains("ingest"))
        {
            Console.Error.WriteLine("== ingest: the spool's ingest rate as undelivered history grows");
            report.Append(Tables.Ingest(await new BacklogBench(context, options).IngestAsync()));
        }
        if (options.Sections.Contains("inline-backlog"))
        {
            Console.Error.WriteLine("== inline-backlog: inline p99 through Prosody beside a dead endpoint's backlog");
            var inlineBacklog = new BacklogBench(context, options);
            var inlineResults = await inlineBacklog.RunInlineAsync();
            report.Append(BacklogBench.InlineTable(inlineResults, inlineBacklog.Probes, options));
        }
        if (options.Sections.Contains("scale"))
        {
            Console.Error.WriteLine("== scale: one ImLogger instance vs two (scale-out) under inline load");
            report.Append(Tables.Scale(await new ScaleBench(context, options).RunAsync()));
        }
        if (options.Sections.Contains("drill"))
        {
            Console.Error.WriteLine("== drill: imlogger stopped and started under inline load");
            report.Append(Tables.Drill(await new DrillBench(context, options).RunAsync(), options));
        }
        Console.WriteLine(report);
        return 0;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ImLogger.sln"))) return dir.FullName;
        throw new InvalidOperationException("ImLogger.sln not found above the benchmark's directory");
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;
using ImLogger.Conversations;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Bench;

/// <summary>One run of the end-to-end backlog case: a backlog size, one round.</summary>
/// <param name="Pending">Transcripts owed to the dead endpoint when imlogger started.</param>
/// <param name="Round">Which round (sizes alternate within a round, so drift in the machine's load hits both alike).</param>
/// <param name="StartMs">From imlogger's start to its "Connected" line: the spool's open is in it.</param>
/// <param name="Step">The measured step at the offered rate (p50/p99 from bob's receipt times).</param>
/// <param name="FailedAttempts">The dispatcher's failed attempts on the dead endpoint logged during the measured step: it
/// was retrying beside the traffic, not idle.</param>
/// <param name="LoadAverage">/proc/loadavg (1 min) right after the step.</param>
internal sealed record InlineBacklogResult(int Pending, int Round, double StartMs, LoadResult Step, int FailedAttempts, string LoadAverage);

/// <summary>
/// Issue 15's backlog target end to end: real Prosody with the inline module, real <c>imlogger run</c> whose spool already
/// holds N closed transcripts owed to a secure-smtp endpoint on a closed port (so the dispatcher keeps trying and failing),
/// alice sending to bob at a fixed rate; the inline p99 beside the same run with an empty spool. The backlog is written
/// through the spool's own API (<see cref="LiteDbSpool.InOneWrite"/>, a thousand transcripts per transaction) before
/// imlogger starts, so it is a spool this version wrote itself (delivery queue kept), as after a long outage; each
/// transcript failed once already, its next attempt spread over the next ten minutes (the longest retry delay), so
/// deliveries keep coming due during the measurement.
/// </summary>
internal sealed partial class BacklogBench
{
    private const string InlineSecret = "bench-secret-7d2a";

    /// <summary>Dispatcher passes in the in-process probe (about three minutes of a real dispatcher's failing passes: each
    /// waits a second's poll and its quick retries).</summary>
    private const int ProbePasses = 50;

    /// <summary>The in-process dispatcher probe of each size, filled by <see cref="RunInlineAsync"/>.</summary>
    public List<DispatcherProbeResult> Probes { get; } = [];

    public async Task<IReadOnlyList<InlineBacklogResult>> RunInlineAsync()
    {
        // One spool per size, written once and copied into each round's run.
        var templates = new Dictionary<int, string>();
        foreach (var pending in options.InlineBacklogSizes.Distinct())
        {
            var dir = context.NewDir($"inline-backlog-{pending}-template");
            var watch = Stopwatch.StartNew();
            var cpu = ProcessStats.Cpu(ProcessStats.Self);
            Directory.CreateDirectory(BenchContext.DataDir(dir));
            WriteBacklogThroughSpool(BenchContext.SpoolFile(dir), pending, DateTimeOffset.UtcNow);
            Console.Error.WriteLine($"   inline backlog {pending}: spool written through the spool API in {watch.Elapsed.TotalSeconds:0.0} s " +
                                    $"({(ProcessStats.Cpu(ProcessStats.Self) - cpu).TotalSeconds:0.0} s CPU, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
            watch.Restart();
            using (new LiteDbSpool(BenchContext.SpoolFile(dir), NullLogger<LiteDbSpool>.Instance)) { }
            Console.Error.WriteLine($"   inline backlog {pending}: reopened in {watch.Elapsed.TotalMilliseconds:0} ms");
            templates[pending] = dir;
            Probes.Add(await ProbeDispatcherAsync(pending, dir, ProbePasses));
            var p = Probes[^1];
            Console.Error.WriteLine($"   inline backlog {pending}: dispatcher probe, per pass {p.CallsPerPass:0.0} spool calls, {p.HeadersPerPass:0} headers, {p.CpuMsPerPass:0.00} ms CPU in the spool (longest call {p.MaxCallCpuMs:0.00} ms)");
        }
        var results = new List<InlineBacklogResult>();
        for (var round = 1; round <= options.InlineBacklogRounds; round++)
            foreach (var pending in options.InlineBacklogSizes)
                results.Add(await RunInlineOnceAsync(pending, round, templates[pending]));
        return results;
    }

    private async Task<InlineBacklogResult> RunInlineOnceAsync(int pending, int round, string template)
    {
        var dir = context.NewDir($"inline-backlog-{pending}");
        CopySpool(template, dir);
        await using var rig = ProsodyRig.Prepare(dir, "alice", "bob");
        var mode = LoadBench.Inline();
        WriteInlineBacklogConfig(dir, rig.ComponentPort, mode.Attach!);
        var include = await mode.Include!(context, dir);
        await rig.StartAsync(include, options.Nagle);
        var started = Stopwatch.StartNew();
        await using var imlogger = context.StartImLogger(InlineSecret, "Info", "run", "--config", BenchContext.ConfigFile(dir), "--log-config", context.NLogConfig);
        await imlogger.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(120), "connected");
        var startMs = started.Elapsed.TotalMilliseconds;
        await using var alice = await XmppLoadClient.LoginAsync(rig.C2sPort, "alice", ProsodyRig.Domain, ProsodyRig.Password);
        await using var bob = await XmppLoadClient.LoginAsync(rig.C2sPort, "bob", ProsodyRig.Domain, ProsodyRig.Password);
        var load = new LoadBench(context, options);
        var rate = options.InlineBacklogRate;
        var name = $"inline, {pending:N0} pending";
        // Warm-up as in the load section: JIT, Prosody's caches, then a paced stretch for the tiered JIT's recompilation.
        await load.StepAsync(mode with { Name = name }, rig, imlogger, alice, bob, 0, 2000, "w");
        await load.StepAsync(mode with { Name = name }, rig, imlogger, alice, bob, rate, (int)(rate * 3), "w");
        var failedBefore = FailedAttempts(imlogger);
        var step = await load.StepAsync(mode with { Name = name }, rig, imlogger, alice, bob, rate, (int)(rate * options.InlineBacklogSeconds), $"b{pending}-");
        var failed = FailedAttempts(imlogger) - failedBefore;
        var loadAverage = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        Console.Error.WriteLine($"   inline backlog {pending} (round {round}): start {startMs:0} ms, p50 {step.P50Ms:0.00} ms, p99 {step.P99Ms:0.00} ms, " +
                                $"{failed} failed attempt(s) on the dead endpoint during the step, load {loadAverage}");
        if (pending > 0 && failed == 0)
            Console.Error.WriteLine("   (the dispatcher did not try the dead endpoint during the step: the backlog was idle, check the config)");
        return new InlineBacklogResult(pending, round, startMs, step, failed, loadAverage);
    }

    /// <summary>Failed deliveries imlogger logged so far (one warning line per failed attempt).</summary>
    private static int FailedAttempts(ImLoggerRun imlogger) =>
        imlogger.Lines.Count(l => l.Contains("to down failed (attempt", StringComparison.Ordinal));

    /// <summary>The template's spool files (the spool and its log) into <paramref name="dir"/>'s data folder.</summary>
    private static void CopySpool(string template, string dir)
    {
        Directory.CreateDirectory(BenchContext.DataDir(dir));
        foreach (var file in Directory.GetFiles(BenchContext.DataDir(template)))
            File.Copy(file, Path.Combine(BenchContext.DataDir(dir), Path.GetFileName(file)));
    }

    /// <summary>The load section's config plus the dead endpoint: a secure-smtp endpoint on a loopback port nothing listens
    /// on (connection refused at once, the cheapest failure for the dispatcher and so the most attempts). alice's own
    /// transcripts go to the directory archive, as in the load section; only the backlog is owed to "down".</summary>
    private static void WriteInlineBacklogConfig(string dir, int componentPort, string attach)
    {
        var closedPort = BenchContext.FreePort(); // free a moment ago; nothing of ours listens on it
        var path = BenchContext.PrepareConfigFile(dir);
        var password = Path.Combine(Path.GetDirectoryName(path)!, "smtp.password");
        File.WriteAllText(password, "unused-password");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" host="127.0.0.1" port="{componentPort}" secret-env="IMLOGGER_COMPONENT_SECRET" />
              {attach}
              <spool path="{BenchContext.SpoolInConfig}" />
              <transcripts idle-close="1h" />
              <organization domain="example.test" endpoint="local-archive" seats="100">
                <notifications inside="off" outside="off" />
                <user jid="alice@example.test" />
              </organization>
              <endpoints>
                <directory name="local-archive" path="{BenchContext.ArchiveInConfig}" />
                <secure-smtp name="down" host="127.0.0.1" port="{closedPort}" tls="starttls" username="imlogger"
                             password-file="{password}" from="imlogger@example.test" to="archive@example.test" />
              </endpoints>
            </imlogger>
            """);
    }

    /// <summary>Writes <paramref name="pending"/> closed transcripts of one event each, owed to "down", through the spool's
    /// API: opened, appended, closed, and failed once with the next attempt spread over the ten minutes after
    /// <paramref name="now"/>. A thousand per transaction (a unit of work), so 100,000 take seconds rather than one fsync
    /// each.</summary>
    internal static void WriteBacklogThroughSpool(string path, int pending, DateTimeOffset now)
    {
        using var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance);
        const int chunk = 1_000;
        for (var start = 0; start < pending; start += chunk)
        {
            var first = start;
            spool.InOneWrite(() =>
            {
                for (var i = first; i < Math.Min(pending, first + chunk); i++)
                {
                    var at = now.AddHours(-2).AddMilliseconds(i);
                    var key = $"alice@example.test peer{i % 1000}@example.test";
                    var header = spool.OpenTranscript(ConversationType.OneToOne, key, at, ["down"]);
                    spool.Append([new SpoolAppend(header.Id, Event(Guid.NewGuid().ToString("N"), at) with { ConversationKey = key })]);
                    spool.Close(header.Id, at.AddMinutes(30));
                    spool.RecordFailure(header.Id, "down", "cannot connect to 127.0.0.1:25: connection refused", now.AddSeconds(i % 600), dead: false);
                }
            });
        }
    }

    public static string InlineTable(IReadOnlyList<InlineBacklogResult> results, IReadOnlyList<DispatcherProbeResult> probes, BenchOptions options)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine().AppendLine(inv, $"### Inline p99 beside a dead endpoint's backlog, end to end (Prosody + mod_imlogger_inline + imlogger, {options.InlineBacklogRate:0} msg/s for {options.InlineBacklogSeconds:0} s)");
        s.AppendLine().AppendLine("| round | pending transcripts | imlogger start to connected ms | delivered | p50 ms | p99 ms | p99 vs no backlog (same round) | Prosody CPU ms/1000 | ImLogger CPU ms/1000 | failed attempts on the dead endpoint during the step | load average |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var baseline = results.FirstOrDefault(b => b.Round == r.Round && b.Pending == 0);
            var vs = baseline == null || baseline == r ? "baseline" : $"{(r.Step.P99Ms / baseline.Step.P99Ms - 1) * 100:+0;-0}%";
            s.AppendLine(inv, $"| {r.Round} | {r.Pending:N0} | {r.StartMs:0} | {r.Step.Received}/{r.Step.Sent} | {r.Step.P50Ms:0.00} | {r.Step.P99Ms:0.00} | {vs} | {r.Step.ProsodyCpuMsPer1000:0.0} | {r.Step.ImLoggerCpuMsPer1000:0.0} | {r.FailedAttempts} | {r.LoadAverage} |");
        }
        s.AppendLine().AppendLine("In process, the real dispatcher and secure-smtp sink over a copy of the same spool, passes back to back (no quick retries); CPU of the dispatcher's thread inside spool calls, each under the spool's gate:");
        s.AppendLine().AppendLine("| pending transcripts | first pass (start's sweep): headers / CPU ms | passes after it | spool calls per pass | headers read per pass | CPU ms in the spool per pass | longest call CPU ms (any pass) | wall ms per pass |");
        s.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var p in probes)
            s.AppendLine(inv, $"| {p.Pending:N0} | {p.FirstPassHeaders} / {p.FirstPassCpuMs:0.0} | {p.Passes} | {p.CallsPerPass:0.0} | {p.HeadersPerPass:0.0} | {p.CpuMsPerPass:0.000} | {p.MaxCallCpuMs:0.000} | {p.WallMsPerPass:0.0} |");
        return s.ToString();
    }
}

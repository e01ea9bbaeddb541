using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ImLogger.Bench;

/// <summary>One setup of the scale section: one ImLogger instance, or several sharing the server (docs/scale-out.md).</summary>
/// <param name="Server">The XMPP server: prosody or ejabberd (its module routes each conversation to an instance).</param>
/// <param name="Instances">How many imlogger processes shared the server.</param>
/// <param name="Pairs">Logged senders, each with its own peer (one conversation each).</param>
/// <param name="Sent">Messages sent in the measured step, all pairs together.</param>
/// <param name="Received">Messages the peers received.</param>
/// <param name="DeliveredPerSecond">The aggregate rate: received over the time from the first send to the last arrival.</param>
/// <param name="ServerCpuMsPer1000">The XMPP server's CPU per 1,000 messages delivered.</param>
/// <param name="ImLoggerCpuMsPer1000">Each imlogger's CPU per 1,000 messages delivered (all messages, not its share).</param>
/// <param name="ArchivedPerInstance">Bodies in each instance's archive.</param>
/// <param name="PairsSplit">Conversations found in more than one instance's archive (must be 0).</param>
/// <param name="LoadAverage">/proc/loadavg at the end of the measured step.</param>
/// <param name="CpuCap">Each instance's CPU budget in CPUs (cgroup quota, standing in for a host of its own), or 0 for none.</param>
/// <param name="ThrottledPercent">Each capped instance's time held back by its budget, in percent of the measured step.</param>
internal sealed record ScaleResult(string Server, double CpuCap, IReadOnlyList<double> ThrottledPercent, int Instances, int Pairs, int Sent, int Received, double DeliveredPerSecond, double ServerCpuMsPer1000,
    IReadOnlyList<double> ImLoggerCpuMsPer1000, IReadOnlyList<int> ArchivedPerInstance, int PairsSplit, string LoadAverage);

/// <summary>
/// The scale section: Prosody with mod_imlogger_inline (fail-closed), <c>--scale-pairs</c> logged senders each talking
/// to their own peer, all flat out at once; first with one <c>imlogger</c>, then with two (scale-out: each its own
/// component, the module routing each conversation by its hash). Then the same on ejabberd (mod_imlogger_inline.erl with
/// mod_imlogger_lanes, built and configured as server-config writes it; left out with --no-ejabberd). Reports the
/// aggregate delivered rate, each process's CPU per message, and what each instance archived: every conversation must be
/// in exactly one archive.
/// </summary>
internal sealed partial class ScaleBench(BenchContext context, BenchOptions options)
{
    private const string Secret = "bench-secret-7d2a";
    private static readonly string[] Components = ["archive.example.test", "archive2.example.test"];

    public async Task<IReadOnlyList<ScaleResult>> RunAsync()
    {
        var caps = options.ScaleCpu > 0 ? new[] { 0, options.ScaleCpu } : [0];
        if (options.ScaleCpu > 0 && CpuCap.WhyUnavailable() is { } why)
        {
            Console.Error.WriteLine($"  (no capped rows: {why})");
            caps = [0];
        }
        List<ScaleResult> results = [];
        foreach (var server in options.SkipEjabberd ? ["prosody"] : new[] { "prosody", "ejabberd" })
            foreach (var cap in caps)
                results.AddRange([await RunAsync(server, 1, cap), await RunAsync(server, 2, cap)]);
        return results;
    }

    private static string Sender(int i) => $"s{i:D2}";
    private static string Peer(int i) => $"p{i:D2}";

    private static string WriteConfig(string dir, int componentPort, string jid, int pairs, bool scaleOut, string server)
    {
        var path = BenchContext.PrepareConfigFile(dir);
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="{jid}" host="127.0.0.1" port="{componentPort}" secret-env="IMLOGGER_COMPONENT_SECRET" />
              <attach server="{server}" mode="inline" failure-mode="closed" timeout="30s" />
              {(scaleOut ? $"<scale-out components=\"{string.Join(' ', Components)}\" />" : "")}
              <spool path="{BenchContext.SpoolInConfig}" />
              <transcripts idle-close="1h" />
              <organization domain="example.test" endpoint="local-archive" seats="{pairs}">
                <notifications inside="off" outside="off" />
            {string.Join("\n", Enumerable.Range(1, pairs).Select(i => $"    <user jid=\"{Sender(i)}@example.test\" />"))}
              </organization>
              <endpoints>
                <directory name="local-archive" path="{BenchContext.ArchiveInConfig}" />
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    private async Task<ScaleResult> RunAsync(string server, int instances, double cpuCap)
    {
        var pairs = options.ScalePairs;
        var dir = context.NewDir($"scale-{server}{instances}{(cpuCap > 0 ? "-capped" : "")}");
        string[] users = [.. Enumerable.Range(1, pairs).Select(Sender), .. Enumerable.Range(1, pairs).Select(Peer)];
        await using IBenchServer rig = server == "ejabberd" ? EjabberdRig.Prepare(dir, users) : ProsodyRig.Prepare(dir, users);
        var instanceDirs = Enumerable.Range(0, instances).Select(k => k == 0 ? dir : Path.Combine(dir, $"instance{k + 1}")).ToList();
        var configs = instanceDirs.Select((d, k) => WriteConfig(d, rig.ComponentPort, Components[k], pairs, instances > 1, server)).ToList();
        var outDir = Path.Combine(dir, "server");
        await using (var gen = context.StartImLogger(Secret, "Warn", "server-config", "--config", configs[0], "--out", outDir))
        {
            await gen.Process.WaitForExitAsync();
            if (gen.Process.ExitCode != 0) throw new InvalidOperationException($"imlogger server-config failed:\n{gen.Output}");
        }
        if (rig is EjabberdRig ejabberd) await BuildEjabberdModuleAsync(outDir, ejabberd.ModulesDir);
        await rig.StartAsync(Path.Combine(outDir, server == "ejabberd" ? "imlogger.yml" : "imlogger.cfg.lua"), options.Nagle);
        var runs = configs.Select(c => context.StartImLogger(Secret, "Info", "run", "--config", c, "--log-config", context.NLogConfig)).ToList();
        // Each instance in a budget of its own from its first instruction: what one instance sustains, bounded by its own CPU.
        var capped = cpuCap > 0 ? runs.Select((r, k) => { var cap = CpuCap.Create($"{server}{instances}-{k + 1}", cpuCap); cap.Add(r.Pid); return cap; }).ToList() : [];
        var senders = new List<XmppLoadClient>();
        var peers = new List<XmppLoadClient>();
        try
        {
            foreach (var run in runs)
                await run.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "connected");
            for (var i = 1; i <= pairs; i++)
            {
                senders.Add(await XmppLoadClient.LoginAsync(rig.C2sPort, Sender(i), ProsodyRig.Domain, ProsodyRig.Password));
                peers.Add(await XmppLoadClient.LoginAsync(rig.C2sPort, Peer(i), ProsodyRig.Domain, ProsodyRig.Password));
            }
            // Warm-up (JIT, caches, first spool writes), then the measured step: every pair flat out at once.
            await StepAsync(senders, peers, 200, "w");
            var perPair = Math.Max(100, options.FlatOutMessages / pairs);
            var server0 = ProcessStats.Cpu(rig.Pid);
            var imlogger0 = runs.Select(r => ProcessStats.Cpu(r.Pid)).ToList();
            var throttled0 = capped.Select(c => c.Throttled()).ToList();
            var (received, elapsed) = await StepAsync(senders, peers, perPair, "f");
            foreach (var run in runs) await LoadBench.WaitQuietAsync(run.Pid);
            var throttled = capped.Select((c, k) => (c.Throttled() - throttled0[k]) / elapsed * 100).ToList();
            var load = File.ReadAllText("/proc/loadavg").Trim();
            var per1000 = 1000.0 / Math.Max(1, received);
            var serverCpu = (ProcessStats.Cpu(rig.Pid) - server0).TotalMilliseconds * per1000;
            var imloggerCpu = runs.Select((r, k) => (ProcessStats.Cpu(r.Pid) - imlogger0[k]).TotalMilliseconds * per1000).ToList();
            // The measured step is over: the stop (closing and delivering every transcript) runs uncapped, so that the archive
            // count below sees everything rather than what a capped instance delivered within its stop budget.
            foreach (var cap in capped) cap.Lift();
            foreach (var run in runs) await run.StopAsync(TimeSpan.FromSeconds(120)); // closes the open transcripts into the archive
            if (received < perPair * pairs)
            {
                // A shortfall must be explained (refused, with the reason) before any figure of the row is read.
                Console.Error.WriteLine($"  {perPair * pairs - received} message(s) not delivered; imlogger's warnings and the server's log ({rig.LogFile}):");
                foreach (var run in runs)
                    Console.Error.WriteLine(string.Join('\n', run.Lines.Where(l => l.Contains("WARN", StringComparison.Ordinal) || l.Contains("ERROR", StringComparison.Ordinal)).TakeLast(10)));
                if (File.Exists(rig.LogFile)) Console.Error.WriteLine(string.Join('\n', File.ReadLines(rig.LogFile).TakeLast(20)));
            }

            // Which instance archived each conversation: a pair's bodies carry its tag.
            var archived = instanceDirs.Select(d => Directory.Exists(BenchContext.ArchiveDir(d))
                ? Directory.GetFiles(BenchContext.ArchiveDir(d), "*.eml")
                    .SelectMany(f => PairTag().Matches(MimeKit.MimeMessage.Load(f).TextBody ?? "").Select(m => m.Groups[1].Value)).ToList()
                : []).ToList();
            var split = Enumerable.Range(1, pairs).Count(i => archived.Count(a => a.Contains($"{i:D2}")) > 1);
            var result = new ScaleResult(server, cpuCap, throttled, instances, pairs, perPair * pairs, received, received / elapsed.TotalSeconds, serverCpu, imloggerCpu,
                archived.Select(a => a.Count).ToList(), split, load);
            Console.Error.WriteLine($"  [{server}, {instances} instance(s){(cpuCap > 0 ? $", {cpuCap:0.##} CPU each" : "")}] {received}/{perPair * pairs} delivered, {result.DeliveredPerSecond:0} msg/s, "
                + $"archived {string.Join(" + ", result.ArchivedPerInstance)}, conversations split: {split}, load {load}");
            return result;
        }
        finally
        {
            foreach (var c in senders.Concat(peers)) await c.DisposeAsync();
            foreach (var run in runs) await run.DisposeAsync();
            foreach (var cap in capped) cap.Dispose();
        }
    }

    /// <summary>The module as an operator builds it: the build.sh server-config wrote, into ejabberd's contributed modules.</summary>
    private static async Task BuildEjabberdModuleAsync(string outDir, string modulesDir)
    {
        using var build = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { Path.Combine(outDir, "build.sh"), modulesDir }, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await build.StandardOutput.ReadToEndAsync() + await build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        if (build.ExitCode != 0) throw new InvalidOperationException($"building mod_imlogger_inline failed:\n{output}");
    }

    /// <summary>Every pair sends <paramref name="count"/> messages to its peer as fast as it can, all pairs at once.</summary>
    private static async Task<(int Received, TimeSpan Elapsed)> StepAsync(List<XmppLoadClient> senders, List<XmppLoadClient> peers, int count, string tag)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(count * senders.Count / 500.0 + 120));
        var start = Stopwatch.GetTimestamp();
        var receiving = peers.Select(p => p.ReceiveMessagesAsync(count, limit.Token)).ToList();
        await Task.WhenAll(senders.Select((s, i) => s.SendMessagesAsync(peers[i].FullJid, count, 0, tag, limit.Token, $"pair{i + 1:D2}")));
        var results = await Task.WhenAll(receiving);
        var last = results.Max(r => r.LastArrival);
        return (results.Sum(r => r.Received), Stopwatch.GetElapsedTime(start, last == 0 ? Stopwatch.GetTimestamp() : last));
    }

    [GeneratedRegex(@"\d+ \d+ pair(\d\d)")]
    private static partial Regex PairTag();
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ImLogger.Bench;

/// <summary>One measured step: one mode, one offered rate.</summary>
internal sealed record LoadResult(
    string Mode, double OfferedRate, int Sent, int Received, double DeliveredPerSecond, double P50Ms, double P99Ms,
    double ProsodyCpuMsPer1000, double? ImLoggerCpuMsPer1000, long? ImLoggerRssBytes, double DriverCpuMsPer1000, double DriverCpuShare)
{
    /// <summary>Work counted per 1,000 delivered messages (table 1b): what does not depend on how busy the machine was.</summary>
    public StepCounts? Counts { get; init; }
}

/// <summary>Per 1,000 delivered messages, over one step (the ImLogger figures include its catching up after the step).</summary>
/// <param name="ServerInvoluntary">The server process taken off its core by the scheduler (another process wanted it).</param>
/// <param name="ServerVoluntary">The server process blocking (its event loop waiting for sockets, timers).</param>
/// <param name="ImLoggerVoluntary">ImLogger's threads blocking: every wake-up of a worker, timer or I/O thread.</param>
/// <param name="ImLoggerInvoluntary">ImLogger's threads preempted.</param>
/// <param name="ImLoggerWriteCalls">Write system calls (sockets and files).</param>
/// <param name="ImLoggerKbToDisk">Kilobytes sent to storage (the spool's log and data file pages, the archive).</param>
internal sealed record StepCounts(double ServerVoluntary, double ServerInvoluntary, double? ImLoggerVoluntary, double? ImLoggerInvoluntary,
    double? ImLoggerWriteCalls, double? ImLoggerKbToDisk);

/// <summary>
/// Section 1: Prosody delivering one-to-one messages from alice (logged) to bob, alone and with ImLogger attached,
/// at fixed offered rates and flat out. CPU comes from /proc/PID/stat before and after each step.
/// </summary>
internal sealed partial class LoadBench(BenchContext context, BenchOptions options)
{
    private const string Secret = "bench-secret-7d2a";

    /// <summary>Prosody alone: the baseline every other column is compared with.</summary>
    public static readonly ServerMode Alone = new("prosody alone", false, null);

    /// <summary>Tap mode exactly as an operator sets it up: the rules <c>imlogger prosody-config --out</c> writes.</summary>
    public static ServerMode Tap() => new("tap", true, GenerateProsodyConfig);

    /// <summary>Inline mode, fail-closed: mod_imlogger_inline holds each of alice's stanzas until ImLogger has spooled it.</summary>
    public static ServerMode Inline() => new("inline", true, GenerateProsodyConfig, InlineAttach);

    /// <summary>
    /// Inline mode with another build of mod_imlogger_inline (e.g. the base branch's, for a before/after in one run):
    /// <paramref name="module"/> replaces the module <c>prosody-config --out</c> wrote, everything else equal.
    /// </summary>
    public static ServerMode Inline(string module) => new($"inline ({Path.GetFileName(module)})", true, async (ctx, dir) =>
    {
        var include = await GenerateProsodyConfig(ctx, dir);
        File.Copy(Path.GetFullPath(module), Path.Combine(Path.GetDirectoryName(include)!, "mod_imlogger_inline.lua"), overwrite: true);
        return include;
    }, InlineAttach);

    /// <summary>
    /// The floor of <paramref name="inline"/>: the same server and module, with <see cref="FloorComponent"/> answering in
    /// ImLogger's place. Its latency and the server's CPU are what the inline protocol costs before ImLogger does any work.
    /// </summary>
    public static ServerMode FloorOf(ServerMode inline) => inline with { Name = "floor" + inline.Name["inline".Length..], Floor = true };

    private const string InlineAttach = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";

    /// <summary>ejabberd alone: the baseline of the ejabberd columns (issue 18).</summary>
    public static readonly ServerMode EjabberdAlone = new("ejabberd alone", false, null, Server: "ejabberd");

    /// <summary>Inline mode on ejabberd, fail-closed: mod_imlogger_inline.erl built and configured as server-config writes it.</summary>
    public static ServerMode EjabberdInline() => new("ejabberd inline", true, GenerateEjabberdConfig,
        InlineAttach.Replace("<attach ", "<attach server=\"ejabberd\" ", StringComparison.Ordinal), "ejabberd");

    /// <summary>What <c>imlogger server-config --out</c> writes for ejabberd (the snippet, the module and its build.sh), with the
    /// module built into the rig's contributed-modules folder as an operator builds it.</summary>
    private static async Task<string?> GenerateEjabberdConfig(BenchContext ctx, string dir)
    {
        var outDir = Path.Combine(dir, "server");
        await using var gen = ctx.StartImLogger(Secret, "Warn", "server-config", "--config", BenchContext.ConfigFile(dir), "--out", outDir);
        await gen.Process.WaitForExitAsync();
        if (gen.Process.ExitCode != 0) throw new InvalidOperationException($"imlogger server-config failed:\n{gen.Output}");
        var build = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { Path.Combine(outDir, "build.sh"), Path.Combine(dir, "ejabberd-modules") }, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await build.StandardOutput.ReadToEndAsync() + await build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        if (build.ExitCode != 0) throw new InvalidOperationException($"building mod_imlogger_inline failed:\n{output}");
        return Path.Combine(outDir, "imlogger.yml");
    }

    /// <summary>What <c>imlogger prosody-config --out</c> writes for the config in <paramref name="dir"/>, included as an operator would.</summary>
    private static async Task<string?> GenerateProsodyConfig(BenchContext ctx, string dir)
    {
        var tapDir = Path.Combine(dir, "tap");
        await using var gen = ctx.StartImLogger(Secret, "Warn", "prosody-config", "--config", BenchContext.ConfigFile(dir), "--out", tapDir);
        await gen.Process.WaitForExitAsync();
        if (gen.Process.ExitCode != 0) throw new InvalidOperationException($"imlogger prosody-config failed:\n{gen.Output}");
        return Path.Combine(tapDir, "imlogger.cfg.lua");
    }

    public async Task<IReadOnlyList<LoadResult>> RunAsync(IEnumerable<ServerMode> modes)
    {
        var results = new List<LoadResult>();
        foreach (var mode in modes)
            results.AddRange(await RunModeAsync(mode));
        return results;
    }

    private async Task<IReadOnlyList<LoadResult>> RunModeAsync(ServerMode mode)
    {
        var dir = context.NewDir("load");
        await using IBenchServer rig = mode.Server == "ejabberd" ? EjabberdRig.Prepare(dir, "alice", "bob") : ProsodyRig.Prepare(dir, "alice", "bob");
        var configPath = BenchContext.WriteConfig(dir, rig.ComponentPort, mode.Attach);
        var include = mode.Include == null ? null : await mode.Include(context, dir);
        if (include != null && mode.Server == "prosody") CheckModeIsWhatItSays(mode, include);
        await rig.StartAsync(include, options.Nagle);
        ImLoggerRun? imlogger = null;
        try
        {
            if (mode.Floor)
            {
                imlogger = context.StartFloorComponent(Secret, rig.ComponentPort);
                await imlogger.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "connected");
            }
            else if (mode.WithImLogger)
            {
                imlogger = context.StartImLogger(Secret, "Info", "run", "--config", configPath, "--log-config", context.NLogConfig);
                await imlogger.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "connected");
            }
            await using var alice = await XmppLoadClient.LoginAsync(rig.C2sPort, "alice", ProsodyRig.Domain, ProsodyRig.Password);
            await using var bob = await XmppLoadClient.LoginAsync(rig.C2sPort, "bob", ProsodyRig.Domain, ProsodyRig.Password);
            var sent = 0;
            // Warm-up: JIT, Prosody's caches, the component's first spool writes.
            sent += (await StepAsync(mode, rig, imlogger, alice, bob, 0, Math.Min(2000, options.FlatOutMessages), "w")).Sent;
            // ... and a paced stretch, so that the .NET tiered JIT's recompilation (about a second of CPU) is not
            // billed to the first measured rate.
            if (options.Rates.Count > 0)
                sent += (await StepAsync(mode, rig, imlogger, alice, bob, options.Rates[0], (int)(options.Rates[0] * 3), "w")).Sent;
            var results = new List<LoadResult>();
            foreach (var rate in options.Rates)
            {
                var r = await StepAsync(mode, rig, imlogger, alice, bob, rate, (int)(rate * options.SecondsPerRate), $"r{rate}-");
                results.Add(r);
                sent += r.Sent;
            }
            var flat = await StepAsync(mode, rig, imlogger, alice, bob, 0, options.FlatOutMessages, "f");
            results.Add(flat);
            sent += flat.Sent;
            if (imlogger != null)
            {
                var code = await imlogger.StopAsync(TimeSpan.FromSeconds(120));
                var summary = mode.Floor ? "item(s) allowed this run" : "event(s) spooled this run";
                var line = await imlogger.WaitForLineAsync(l => l.Contains(summary, StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the stop summary");
                var spooled = long.Parse(SpooledThisRun().Match(line).Groups[1].Value);
                Console.Error.WriteLine($"  [{mode.Name}] imlogger exit {code}: {spooled} event(s) spooled for {sent} message(s) sent"
                    + (spooled >= sent ? " (every copy arrived and was spooled)" : " (COPIES MISSING)"));
                if (spooled < sent) results = results.Select(x => x with { Mode = x.Mode + " (copies missing!)" }).ToList();
            }
            return results;
        }
        finally
        {
            if (imlogger != null) await imlogger.DisposeAsync();
        }
    }

    internal async Task<LoadResult> StepAsync(ServerMode mode, IBenchServer rig, ImLoggerRun? imlogger, XmppLoadClient alice, XmppLoadClient bob, double rate, int count, string tag)
    {
        var prosody0 = ProcessStats.Cpu(rig.Pid);
        var imlogger0 = imlogger == null ? TimeSpan.Zero : ProcessStats.Cpu(imlogger.Pid);
        var self0 = ProcessStats.Cpu(ProcessStats.Self);
        var server0 = ProcessStats.ContextSwitches(rig.Pid);
        var switches0 = imlogger == null ? null : ProcessStats.ContextSwitches(imlogger.Pid);
        var io0 = imlogger == null ? default : ProcessStats.Io(imlogger.Pid);
        var start = Stopwatch.GetTimestamp();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds((rate > 0 ? count / rate : count / 2000.0) + 60));
        var receiving = bob.ReceiveMessagesAsync(count, limit.Token);
        await alice.SendMessagesAsync(bob.FullJid, count, rate, tag, limit.Token);
        var (latency, last, received) = await receiving;
        var elapsed = Stopwatch.GetElapsedTime(start, last == 0 ? Stopwatch.GetTimestamp() : last);
        var driverCpu = ProcessStats.Cpu(ProcessStats.Self) - self0;
        // The component may still be working through its queue: its cost per message includes that.
        if (imlogger != null) await WaitQuietAsync(imlogger.Pid);
        var prosodyCpu = ProcessStats.Cpu(rig.Pid) - prosody0;
        var server1 = ProcessStats.ContextSwitches(rig.Pid);
        var switches1 = imlogger == null ? null : ProcessStats.ContextSwitches(imlogger.Pid);
        var io1 = imlogger == null ? default : ProcessStats.Io(imlogger.Pid);
        var server = ProcessStats.SwitchesBetween(server0, server1);
        var switches = ProcessStats.SwitchesBetween(switches0, switches1);
        var imloggerCpu = imlogger == null ? (TimeSpan?)null : ProcessStats.Cpu(imlogger.Pid) - imlogger0;
        var sorted = latency.Where(x => !double.IsNaN(x)).Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        var per1000 = 1000.0 / Math.Max(1, received);
        var result = new LoadResult(mode.Name, rate, count, received, received / elapsed.TotalSeconds, Percentile(0.50), Percentile(0.99),
            prosodyCpu.TotalMilliseconds * per1000, imloggerCpu?.TotalMilliseconds * per1000, imlogger == null ? null : ProcessStats.Rss(imlogger.Pid),
            driverCpu.TotalMilliseconds * per1000, driverCpu.TotalSeconds / elapsed.TotalSeconds)
        {
            Counts = new StepCounts(server.Voluntary * per1000, server.Involuntary * per1000,
                imlogger == null ? null : switches.Voluntary * per1000,
                imlogger == null ? null : switches.Involuntary * per1000,
                imlogger == null ? null : (io1.WriteCalls - io0.WriteCalls) * per1000,
                imlogger == null ? null : (io1.BytesToDisk - io0.BytesToDisk) / 1024.0 * per1000),
        };
        if (tag != "w")
            Console.Error.WriteLine($"  [{mode.Name}] {(rate > 0 ? $"{rate}/s" : "flat out")}: {received}/{count} delivered, {result.DeliveredPerSecond:0} msg/s, p99 {result.P99Ms:0.00} ms");
        return result;
    }

    /// <summary>The column measures the mode it names: tap loads mod_firewall and not the inline module, inline loads the
    /// inline module. (A config without &lt;attach&gt; became inline when inline became the default, and the tap column
    /// measured inline mode for a day before anyone noticed.)</summary>
    private static void CheckModeIsWhatItSays(ServerMode mode, string include)
    {
        var text = File.ReadAllText(include);
        var inline = text.Contains("\"imlogger_inline\"", StringComparison.Ordinal);
        if (inline != (mode.Attach != null))
            throw new InvalidOperationException($"The '{mode.Name}' column would run {(inline ? "inline" : "tap")} mode ({include}); check the <attach> the bench writes.");
    }

    /// <summary>Waits until the process used no CPU for half a second (at most 60 s).</summary>
    internal static async Task WaitQuietAsync(int pid)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var before = ProcessStats.Cpu(pid);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            var now = ProcessStats.Cpu(pid);
            if (now - before <= TimeSpan.FromMilliseconds(10)) return;
            before = now;
        }
    }

    [GeneratedRegex(@"(\d+) (?:event\(s\) spooled|item\(s\) allowed) this run")]
    private static partial Regex SpooledThisRun();
}

using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ImLogger.Bench;

/// <summary>One measured window of the paced section: one build, one mode, one rate (0 = idle, connected, nothing sent).</summary>
/// <param name="Build">"this tree" or "baseline" (<c>--paced-baseline</c>).</param>
/// <param name="Mode">tap or inline.</param>
/// <param name="Rate">Stanzas offered a second; 0 for the idle window.</param>
/// <param name="CpuMsPerSecond">The imlogger process's CPU (user + system) per second of the window.</param>
/// <param name="CpuMsPer1000">The same per 1,000 stanzas sent (null when idle).</param>
/// <param name="Voluntary">Voluntary context switches per second (thread wake-ups: each worker, timer or I/O thread that blocked).</param>
/// <param name="WriteCalls">write/pwrite system calls per second (socket and files).</param>
/// <param name="KbToDisk">Kilobytes sent to storage per second.</param>
/// <param name="Achieved">Stanzas a second the sender kept up (below <paramref name="Rate"/> when the machine starved it).</param>
internal sealed record PacedResult(string Build, string Mode, double Rate, double CpuMsPerSecond, double? CpuMsPer1000,
    double Voluntary, double WriteCalls, double KbToDisk, double Achieved = 0);

/// <summary>
/// Section "paced": issue 15's CPU target measured on ImLogger alone. The real <c>imlogger run</c> process attaches to
/// a loopback XEP-0114 server (<see cref="ReplayServer"/>) that sends it tap copies, or inline verdict requests of one
/// stanza each, at fixed rates, with no Prosody and no XMPP clients on the cores beside it: what is left is ImLogger's
/// own cost per second idle (connected, nothing sent) and per 1,000 stanzas at each rate. With
/// <c>--paced-baseline DLL</c> another build is measured in the same run, the two alternating window by window's mode,
/// so that a before/after shares the machine's load (docs/performance.md, "ImLogger alone, paced").
/// </summary>
internal sealed class PacedBench(BenchContext context, BenchOptions options)
{
    private const string Secret = "bench-secret-paced";
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(5);

    public async Task<IReadOnlyList<PacedResult>> RunAsync()
    {
        var builds = new List<(string Name, string Dll)>();
        if (options.PacedBaseline is { } baseline) builds.Add(("baseline", Path.GetFullPath(baseline)));
        builds.Add(("this tree", context.ImLoggerDll));
        var modes = options.SkipInline ? new[] { false } : [false, true];
        var results = new List<PacedResult>();
        foreach (var inline in modes)
            foreach (var (name, dll) in builds)
                results.AddRange(await RunOneAsync(name, dll, inline));
        return results;
    }

    private async Task<IReadOnlyList<PacedResult>> RunOneAsync(string build, string dll, bool inline)
    {
        var mode = inline ? "inline" : "tap";
        var dir = context.NewDir("paced");
        await using var server = new ReplayServer();
        var configPath = BenchContext.WriteConfig(dir, server.Port,
            inline ? """<attach mode="inline" failure-mode="closed" timeout="10s" />""" : null);
        await using var imlogger = Start(dll, configPath);
        await server.AcceptAsync(TimeSpan.FromSeconds(120)); // a start under load can take a while
        await imlogger.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "connected");
        var next = 0;
        // Warm-up: JIT (tiered: a paced stretch too, so its recompilation is not billed to the first window).
        next = await SendAsync(server, inline, next, 2000, 0);
        if (options.Rates.Count > 0) next = await SendAsync(server, inline, next, (int)(options.Rates[0] * 3), options.Rates[0]);
        await QuietAsync(imlogger.Pid);
        await Task.Delay(TimeSpan.FromSeconds(2)); // the spool's once-a-second work after the last write
        var results = new List<PacedResult>();
        var idle = Window(imlogger.Pid);
        await Task.Delay(IdleWindow);
        results.Add(idle.End(build, mode, 0, 0));
        foreach (var rate in options.Rates)
        {
            var count = (int)(rate * options.SecondsPerRate);
            var w = Window(imlogger.Pid);
            var sending = Stopwatch.GetTimestamp();
            next = await SendAsync(server, inline, next, count, rate);
            var achieved = count / Stopwatch.GetElapsedTime(sending).TotalSeconds;
            await QuietAsync(imlogger.Pid); // what it still works through is billed to the rate
            results.Add(w.End(build, mode, rate, count) with { Achieved = achieved });
            Console.Error.WriteLine($"  [{build}, {mode}] {rate}/s: {results[^1].CpuMsPer1000:0} ms CPU per 1,000 stanzas");
        }
        Console.Error.WriteLine($"  [{build}, {mode}] idle: {results[0].CpuMsPerSecond:0.0} ms CPU per second");
        return results;
    }

    /// <summary>Three quiet half-seconds, not one: on a loaded machine one can be the scheduler starving a busy process.</summary>
    private static async Task QuietAsync(int pid)
    {
        for (var i = 0; i < 3; i++) await LoadBench.WaitQuietAsync(pid);
    }

    private ImLoggerRun Start(string dll, string configPath)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "run", "--config", configPath, "--log-config", context.NLogConfig }) psi.ArgumentList.Add(a);
        psi.Environment["IMLOGGER_COMPONENT_SECRET"] = Secret;
        psi.Environment["IMLOGGER_LOG_LEVEL"] = "Info";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return new ImLoggerRun(Process.Start(psi)!);
    }

    /// <summary>Sends <paramref name="count"/> stanzas from number <paramref name="first"/> on, at <paramref name="rate"/> a
    /// second (0: as fast as the socket takes them): each tap copy in a write of its own, inline requests of
    /// <c>--paced-per-request</c> stanzas each (one write per request). Returns the next number.</summary>
    private async Task<int> SendAsync(ReplayServer server, bool inline, int first, int count, double rate)
    {
        var per = inline ? options.PacedPerRequest : 1;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i += per)
        {
            if (rate > 0)
            {
                var due = TimeSpan.FromSeconds(i / rate) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.FromMilliseconds(1)) await Task.Delay(due);
            }
            await server.SendAsync(Stanzas(inline, first + i, Math.Min(per, count - i)), CancellationToken.None);
        }
        return first + count;
    }

    /// <summary>Tap copies of alice's messages to one of 8 peers, or the same messages held in one inline request.</summary>
    internal static byte[] Stanzas(bool inline, int n, int count)
    {
        static string Message(int n) =>
            $"<message xmlns='jabber:client' id='p{n}' from='alice@example.test/laptop' to='peer{n % 8}@example.test' type='chat'>" +
            $"<body>message {n} about the quarterly figures</body></message>";
        var text = new StringBuilder();
        if (!inline)
        {
            for (var k = 0; k < count; k++)
                text.Append("<message from='example.test' to='archive.example.test'><forwarded xmlns='urn:xmpp:forward:0'>").Append(Message(n + k)).Append("</forwarded></message>\n");
            return Encoding.UTF8.GetBytes(text.ToString());
        }
        text.Append(CultureInfo.InvariantCulture, $"<iq type='set' id='imlogger-{n}' from='example.test' to='archive.example.test'><batch xmlns='urn:imlogger:inline:0'>");
        for (var k = 0; k < count; k++)
            text.Append(CultureInfo.InvariantCulture, $"<item id='{k + 1}' direction='out' user='alice@example.test' to-local='true'>").Append(Message(n + k)).Append("</item>");
        return Encoding.UTF8.GetBytes(text.Append("</batch></iq>\n").ToString());
    }

    private static Measure Window(int pid) => new(pid, ProcessStats.Cpu(pid), ProcessStats.ContextSwitches(pid), ProcessStats.Io(pid), Stopwatch.GetTimestamp());

    private sealed record Measure(int Pid, TimeSpan Cpu0, Dictionary<int, (long Voluntary, long Involuntary)> Switches0,
        (long WriteCalls, long BytesToDisk) Io0, long Start)
    {
        public PacedResult End(string build, string mode, double rate, int count)
        {
            var seconds = Stopwatch.GetElapsedTime(Start).TotalSeconds;
            var cpu = (ProcessStats.Cpu(Pid) - Cpu0).TotalMilliseconds;
            var switches = ProcessStats.SwitchesBetween(Switches0, ProcessStats.ContextSwitches(Pid));
            var io = ProcessStats.Io(Pid);
            return new PacedResult(build, mode, rate, cpu / seconds, count > 0 ? cpu * 1000 / count : null,
                switches.Voluntary / seconds, (io.WriteCalls - Io0.WriteCalls) / seconds, (io.BytesToDisk - Io0.BytesToDisk) / 1024.0 / seconds);
        }
    }

    /// <summary>The section's table (markdown).</summary>
    public static string Table(IReadOnlyList<PacedResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### Paced: ImLogger alone against a loopback server at fixed rates (no Prosody, no clients)").AppendLine();
        s.AppendLine("| mode | build | offered (kept up) | CPU ms per second | CPU ms per 1,000 stanzas | wake-ups (voluntary switches) per second | write calls per second | KB to disk per second |");
        s.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Mode} | {r.Build} | {(r.Rate == 0 ? "idle" : $"{r.Rate:0}/s ({r.Achieved:0})")} | {r.CpuMsPerSecond:0.0} | {(r.CpuMsPer1000 is { } c ? c.ToString("0", CultureInfo.InvariantCulture) : "-")} | {r.Voluntary:0} | {r.WriteCalls:0} | {r.KbToDisk:0} |");
        return s.ToString();
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Bench;

/// <summary>What the dispatcher's passes against the dead endpoint do in the spool, per pass: calls, headers read, and the
/// CPU of the calling thread inside those calls (the spool's gate is held for each; an inline verdict's write waits behind
/// it). Thread CPU does not depend on how busy the machine is, unlike the p99.</summary>
internal sealed record DispatcherProbeResult(int Pending, int Passes, double CallsPerPass, double HeadersPerPass, double CpuMsPerPass, double MaxCallCpuMs, double WallMsPerPass)
{
    /// <summary>The first pass (the start's sweep), not in the per-pass figures.</summary>
    public long FirstPassHeaders { get; init; }
    public double FirstPassCpuMs { get; init; }
}

internal sealed partial class BacklogBench
{
    /// <summary>The real <see cref="Dispatcher"/> with the real secure-smtp sink on a closed port, over a copy of the
    /// template spool, <paramref name="passes"/> passes one after the other (no quick retries: they wait without touching the
    /// spool). The first pass is the start's sweep.</summary>
    private async Task<DispatcherProbeResult> ProbeDispatcherAsync(int pending, string template, int passes)
    {
        var dir = context.NewDir($"probe-{pending}");
        CopySpool(template, dir);
        WriteInlineBacklogConfig(dir, BenchContext.FreePort(), "<attach mode=\"tap\" />");
        var config = ConfigLoader.Load(BenchContext.ConfigFile(dir), name => name == "IMLOGGER_COMPONENT_SECRET" ? InlineSecret : Environment.GetEnvironmentVariable(name));
        var sinks = config.Endpoints.Select(e => EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@archive.example.test")).ToList();
        using var spool = new LiteDbSpool(BenchContext.SpoolFile(dir), NullLogger<LiteDbSpool>.Instance);
        var timed = new TimedQueue(spool);
        var dispatcher = new Dispatcher(timed, timed, sinks, NullLogger<Dispatcher>.Instance, TimeProvider.System, new DispatcherOptions { QuickRetries = 0 });
        // The first pass is the start's sweep (a batch read before the first failure); the rest are the steady state.
        var firstWatch = Stopwatch.StartNew();
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        var first = (timed.Calls, timed.Headers, timed.CpuMs, Wall: firstWatch.Elapsed.TotalMilliseconds);
        var wall = Stopwatch.StartNew();
        for (var i = 1; i < passes; i++) await dispatcher.DeliverDueAsync(CancellationToken.None);
        Console.Error.WriteLine($"   inline backlog {pending}: probe by spool method (calls, CPU ms): " +
                                string.Join(", ", timed.ByMethod.Select(m => $"{m.Key} {m.Value.Calls} {m.Value.CpuMs:0.0}")));
        var steady = passes - 1;
        return new DispatcherProbeResult(pending, steady, (timed.Calls - first.Calls) / (double)steady, (timed.Headers - first.Headers) / (double)steady,
            (timed.CpuMs - first.CpuMs) / steady, timed.MaxCpuMs, wall.Elapsed.TotalMilliseconds / steady)
        { FirstPassHeaders = first.Headers, FirstPassCpuMs = first.CpuMs };
    }

    /// <summary>The spool as the dispatcher sees it, each call timed on the calling thread's CPU clock.</summary>
    private sealed class TimedQueue(LiteDbSpool spool) : IDeliveryQueue, ITranscriptReader
    {
        private readonly Lock _lock = new();
        public int Calls { get; private set; }
        public long Headers { get; private set; }
        public double CpuMs { get; private set; }
        public double MaxCpuMs { get; private set; }

        /// <summary>Per spool method: calls and CPU ms (printed as the probe's breakdown).</summary>
        public Dictionary<string, (int Calls, double CpuMs)> ByMethod { get; } = [];

        private T Time<T>(Func<T> call, Func<T, int> headers, [System.Runtime.CompilerServices.CallerMemberName] string method = "")
        {
            var before = ThreadCpuMs();
            var result = call();
            var cpu = ThreadCpuMs() - before;
            lock (_lock)
            {
                var (calls, total) = ByMethod.GetValueOrDefault(method);
                ByMethod[method] = (calls + 1, total + cpu);
                Calls++;
                Headers += headers(result);
                CpuMs += cpu;
                MaxCpuMs = Math.Max(MaxCpuMs, cpu);
            }
            return result;
        }

        private void Time(Action call, [System.Runtime.CompilerServices.CallerMemberName] string method = "") => Time(() => { call(); return 0; }, _ => 0, method);

        public IReadOnlyList<TranscriptHeader> DueForDelivery(string endpoint, DateTimeOffset nowUtc, int max) => Time(() => spool.DueForDelivery(endpoint, nowUtc, max), r => r.Count);
        public IReadOnlyList<TranscriptHeader> ScheduledAfter(string endpoint, DateTimeOffset afterUtc, int max) => Time(() => spool.ScheduledAfter(endpoint, afterUtc, max), r => r.Count);
        public IReadOnlyList<TranscriptHeader> Undelivered() => Time(spool.Undelivered, r => r.Count);
        public IReadOnlyList<EndpointBacklog> Backlog() => Time(spool.Backlog, _ => 0);
        public int UndeliveredCount() => Time(spool.UndeliveredCount, _ => 0);
        public void MarkDelivered(string transcriptId, string endpoint) => Time(() => spool.MarkDelivered(transcriptId, endpoint));
        public void RecordPartsAccepted(string transcriptId, string endpoint, int partsAccepted, int eventsAccepted) => Time(() => spool.RecordPartsAccepted(transcriptId, endpoint, partsAccepted, eventsAccepted));
        public void RecordCopyMayExist(string transcriptId, string endpoint, DateTimeOffset atUtc) => Time(() => spool.RecordCopyMayExist(transcriptId, endpoint, atUtc));
        public void RecordFailure(string transcriptId, string endpoint, string error, DateTimeOffset? nextAttemptUtc, bool dead) => Time(() => spool.RecordFailure(transcriptId, endpoint, error, nextAttemptUtc, dead));
        public int RequeueDead(string? endpoint) => Time(() => spool.RequeueDead(endpoint), _ => 0);
        public IReadOnlyList<TranscriptHeader> OpenTranscripts() => Time(spool.OpenTranscripts, r => r.Count);
        public Transcript? Load(string transcriptId) => Time(() => spool.Load(transcriptId), _ => 0);
    }

    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static double ThreadCpuMs()
    {
        _ = ClockGetTime(ClockThreadCpuTime, out var t);
        return t.Seconds * 1000.0 + t.Nanoseconds / 1e6;
    }
}

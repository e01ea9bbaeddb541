using System.Globalization;
using System.Text;

namespace ImLogger.Bench;

/// <summary>Markdown tables, each figure beside the baseline measured in the same run.</summary>
internal static partial class Tables
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Load(IReadOnlyList<LoadResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### 1. The server delivering alice -> bob (alice logged), one sender, one receiver (ejabberd rows: vs ejabberd alone)");
        s.AppendLine().AppendLine("| offered | mode | delivered msg/s | p50 ms | p99 ms | server CPU ms/1000 msg | vs alone | ImLogger CPU ms/1000 | ImLogger RSS MB | driver CPU ms/1000 (share of a core) |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var group in results.GroupBy(r => r.OfferedRate))
        {
            var prosodyAlone = group.FirstOrDefault(r => r.Mode.StartsWith("prosody alone", StringComparison.Ordinal));
            var ejabberdAlone = group.FirstOrDefault(r => r.Mode.StartsWith("ejabberd alone", StringComparison.Ordinal));
            foreach (var r in group)
            {
                // Each server's columns against that server alone, measured in the same run.
                var baseline = r.Mode.StartsWith("ejabberd", StringComparison.Ordinal) ? ejabberdAlone : prosodyAlone;
                var vs = baseline == null || r == baseline ? "baseline" : $"{(r.ProsodyCpuMsPer1000 / baseline.ProsodyCpuMsPer1000 - 1) * 100:+0;-0}%";
                var p99 = baseline == null || r == baseline ? $"{r.P99Ms:0.00}" : $"{r.P99Ms:0.00} ({r.P99Ms - baseline.P99Ms:+0.00;-0.00})";
                s.AppendLine(Inv, $"| {(r.OfferedRate > 0 ? $"{r.OfferedRate:0}/s" : "flat out")} | {r.Mode} | {r.DeliveredPerSecond:0} ({r.Received}/{r.Sent}) | {r.P50Ms:0.00} | {p99} | {r.ProsodyCpuMsPer1000:0.0} | {vs} | {(r.ImLoggerCpuMsPer1000 is { } c ? c.ToString("0.0", Inv) : "-")} | {(r.ImLoggerRssBytes is { } m ? (m / 1048576.0).ToString("0", Inv) : "-")} | {r.DriverCpuMsPer1000:0.0} ({r.DriverCpuShare * 100:0}%) |");
            }
        }
        s.Append(LoadCounts(results));
        return s.ToString();
    }

    /// <summary>Table 1b: the same steps, as work counted per 1,000 messages (each beside its server alone).</summary>
    private static string LoadCounts(IReadOnlyList<LoadResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### 1b. Work counted per 1,000 delivered messages (context switches, writes): less dependent on the machine's load than the wall clock");
        s.AppendLine().AppendLine("| offered | mode | server switches: voluntary / preempted | ImLogger switches: voluntary / preempted | ImLogger write calls | ImLogger KB to disk |");
        s.AppendLine("|---|---|---|---|---|---|");
        static string F(double? v) => v is { } x ? x.ToString("0", Inv) : "-";
        foreach (var r in results.Where(r => r.Counts != null))
        {
            var c = r.Counts!;
            s.AppendLine(Inv, $"| {(r.OfferedRate > 0 ? $"{r.OfferedRate:0}/s" : "flat out")} | {r.Mode} | {F(c.ServerVoluntary)} / {F(c.ServerInvoluntary)} | {F(c.ImLoggerVoluntary)} / {F(c.ImLoggerInvoluntary)} | {F(c.ImLoggerWriteCalls)} | {F(c.ImLoggerKbToDisk)} |");
        }
        return s.ToString();
    }

    public static string Scale(IReadOnlyList<ScaleResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine(Inv, $"### Scale-out: {results[0].Pairs} logged users each flat out to their own peer at once, inline fail-closed, one vs two imlogger instances on this machine, per server");
        s.AppendLine().AppendLine("| server | CPU per instance | instances | delivered msg/s | vs one (same server, same cap) | server CPU ms/1000 msg | ImLogger CPU ms/1000 msg (each) | throttled by the cap (each; kernel throttled_time over the step, summed over both CPUs) | archived (each) | conversations split | load average after |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var one = results.FirstOrDefault(o => o.Server == r.Server && o.CpuCap == r.CpuCap && o.Instances == 1);
            var held = r.ThrottledPercent.Count == 0 ? "-" : string.Join(" + ", r.ThrottledPercent.Select(t => t.ToString("0", Inv) + "%"));
            s.AppendLine(Inv, $"| {r.Server} | {(r.CpuCap > 0 ? $"{r.CpuCap:0.##} (cgroup quota)" : "machine's")} | {r.Instances} | {r.DeliveredPerSecond:0} ({r.Received}/{r.Sent}) | {(one == null || r == one ? "baseline" : $"{(r.DeliveredPerSecond / one.DeliveredPerSecond - 1) * 100:+0;-0}%")} | {r.ServerCpuMsPer1000:0.0} | {string.Join(" + ", r.ImLoggerCpuMsPer1000.Select(c => c.ToString("0.0", Inv)))} | {held} | {string.Join(" + ", r.ArchivedPerInstance)} | {r.PairsSplit} | {r.LoadAverage} |");
        }
        return s.ToString();
    }

    public static string Drill(IReadOnlyList<DrillResult> results, BenchOptions options)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine(Inv, $"### Restart drill: 20 logged users sending {options.DrillRate:0} msg/s in total for {options.DrillSeconds:0} s, inline fail-closed (timeout 10 s)");
        s.AppendLine().AppendLine("| imlogger | sent | away (stop to connected again) | start (process to connected) | refused (Prosody log) | errors at senders | delivered | delivered twice | archived | archived twice | marked refused after storing (of which delivered) |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
            s.AppendLine(Inv, $"| {r.How} | {r.Sent} | {r.Away.TotalSeconds:0.0} s | {(r.Started is { } st ? $"{st.TotalSeconds:0.00} s" : "-")} | {r.RefusedInProsody} | {r.SenderErrors} | {r.Delivered} | {r.DeliveredTwice} | {r.Archived} | {r.ArchivedTwice} | {r.MarkedRefused} ({r.MarkedRefusedYetDelivered}) |");
        return s.ToString();
    }

    public static string Replay(IReadOnlyList<ReplayResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine(Inv, $"### 2. The component alone: {results[0].Stanzas} recorded tap copies (chat, XHTML-IM, presence, roster iq, room traffic) over loopback XEP-0114");
        s.AppendLine().AppendLine("| stage | stanzas/s | events spooled | bench process CPU s (of wall s) | allocated KB/stanza | GC pauses ms |");
        s.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in results)
            s.AppendLine(Inv, $"| {r.Stage} | {r.StanzasPerSecond:0} | {(r.Events > 0 ? r.Events.ToString(Inv) : "-")} | {r.Cpu.TotalSeconds:0.00} ({r.Elapsed.TotalSeconds:0.00}) | {r.AllocatedBytes / 1024.0 / r.Stanzas:0.0} | {r.GcPause.TotalMilliseconds:0} |");
        return s.ToString();
    }

    public static string Memory(MemoryResult r)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### 3. Memory of the imlogger process (RSS), real process on a replay server");
        s.AppendLine().AppendLine("| state | RSS MB |").AppendLine("|---|---|");
        s.AppendLine(Inv, $"| connected, idle (baseline) | {r.IdleRss / 1048576.0:0} |");
        s.AppendLine(Inv, $"| {r.Conversations} open conversations (opened in {r.OpenTime.TotalSeconds:0.0} s) | {r.RssWithConversations / 1048576.0:0} |");
        var total = r.Conversations + r.Chunks.Sum(c => (long)c.Events);
        s.AppendLine(Inv, $"| {total} undelivered events in {r.Conversations} open transcripts (spool files {r.SpoolBytes / 1048576.0:0} MB) | {r.RssWithSpool / 1048576.0:0} (peak {r.PeakRss / 1048576.0:0}) |");
        if (r.Chunks.Count > 0)
        {
            s.AppendLine().AppendLine("| spool size before chunk (events) | events in chunk | events/s | ImLogger CPU ms/1000 events |").AppendLine("|---|---|---|---|");
            foreach (var c in r.Chunks)
                s.AppendLine(Inv, $"| {c.SpoolEventsBefore} | {c.Events} | {c.Events / c.Elapsed.TotalSeconds:0} | {c.CpuMsPer1000:0.0} |");
        }
        return s.ToString();
    }

    public static string Backlog(IReadOnlyList<BacklogResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### Spool: one-event appends (an inline verdict's write) beside a dead endpoint's backlog");
        s.AppendLine().AppendLine("| transcripts pending | first open ms | next open ms | DueForDelivery ms | status read ms | append p50 / p90 / p99 / max ms, dispatcher polling | append p50 / p90 / p99 / max ms, `spool status` back to back |");
        s.AppendLine("|---|---|---|---|---|---|---|");
        static string Q((int Count, double P50, double P90, double P99, double Max) q) =>
            string.Create(Inv, $"{q.P50:0.00} / {q.P90:0.00} / {q.P99:0.00} / {q.Max:0.0}{(q.Count < 1000 ? $" ({q.Count} appends in 60 s)" : "")}");
        foreach (var r in results)
            s.AppendLine(Inv, $"| {r.Pending:N0} | {r.OpenMs:0} | {r.ReopenMs:0} | {r.DueMs:0.00} | {r.StatusMs:0.0} | {Q(r.AppendWithDispatcher)} | {Q(r.AppendWithStatus)} |");
        return s.ToString();
    }

    public static string Ingest(IReadOnlyList<IngestResult> results)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### Spool ingest as undelivered history grows (batches of 100 over 10,000 open transcripts)");
        s.AppendLine().AppendLine("| undelivered events before | events timed | events/s (wall) | vs the first row | CPU ms per 1,000 events | first row's CPU / this row's | fill s |");
        s.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
            s.AppendLine(Inv, $"| {r.PendingEvents:N0} | {r.Events:N0} | {r.EventsPerSecond:0} | {r.EventsPerSecond / results[0].EventsPerSecond:P0} | {r.CpuMsPer1000:0.0} | {results[0].CpuMsPer1000 / r.CpuMsPer1000:P0} | {r.FillSeconds:0} |");
        return s.ToString();
    }
}

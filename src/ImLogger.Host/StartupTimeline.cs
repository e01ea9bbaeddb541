using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// Where a start's time goes, from the process start (the .NET runtime included) to the first connection to the XMPP
/// server: in inline mode the server's module keeps held stanzas only for its timeout (10 s by default) while ImLogger is
/// away, so a restart must fit well inside it (docs/durability.md, "How long a restart takes"). Each stage is marked once;
/// the first connection logs one line with the breakdown (Information), and each mark is logged at Debug as it happens.
/// </summary>
internal static class StartupTimeline
{
    private static readonly object Gate = new();
    private static readonly List<(string Stage, TimeSpan At)> Marks = [];
    private static bool _reported;

    /// <summary>Time since the process started (the runtime's own start included, as the operator waits for it).</summary>
    public static TimeSpan SinceProcessStart
    {
        get
        {
            try
            {
                using var self = Process.GetCurrentProcess();
                return DateTime.Now - self.StartTime;
            }
            catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
            {
                return TimeSpan.FromMilliseconds(Environment.TickCount64 - StartTick);
            }
        }
    }

    private static readonly long StartTick = Environment.TickCount64;

    /// <summary>The last start's duration, once connected (for <c>report</c>); null before.</summary>
    public static TimeSpan? LastStart { get; private set; }

    /// <summary>Marks the end of a stage (the first mark of a name counts).</summary>
    public static void Mark(string stage, ILogger? logger = null)
    {
        var at = SinceProcessStart;
        lock (Gate)
        {
            if (Marks.Any(m => m.Stage == stage)) return;
            Marks.Add((stage, at));
        }
        logger?.LogDebug("Start: {Stage} at {Seconds:0.000} s after the process started", stage, at.TotalSeconds);
    }

    /// <summary>The first connection: logs the breakdown once ("Started in 1.9 s: runtime 0.41 s, config 0.12 s, ...").</summary>
    public static void Connected(ILogger logger)
    {
        Mark("connected");
        List<(string Stage, TimeSpan At)> marks;
        lock (Gate)
        {
            if (_reported) return;
            _reported = true;
            marks = [.. Marks.OrderBy(m => m.At)];
        }
        var total = marks[^1].At;
        LastStart = total;
        var previous = TimeSpan.Zero;
        var parts = new List<string>();
        foreach (var (stage, at) in marks)
        {
            parts.Add($"{stage} {(at - previous).TotalSeconds:0.00} s");
            previous = at;
        }
        logger.LogInformation("Started in {Seconds:0.00} s from the process start to the first connection: {Stages}", total.TotalSeconds, string.Join(", ", parts));
    }
}

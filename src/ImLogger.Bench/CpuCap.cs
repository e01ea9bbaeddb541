using System.Globalization;

namespace ImLogger.Bench;

/// <summary>
/// A CPU budget for one process, through a cgroup of its own (the kernel's CFS quota): the process and every thread it
/// starts later get at most <see cref="Cpus"/> CPUs of time per period, whatever else the machine runs. The scale
/// section uses it to stand in for "each instance on a host of its own": with every instance held to the same small
/// budget, an instance's throughput is bounded by its own CPU, as it would be on its own host, and the aggregate of two
/// shows whether sharing the conversations between instances adds capacity. Needs root and the cgroup v1 cpu
/// controller (<c>/sys/fs/cgroup/cpu</c>) or cgroup v2 (<c>cpu.max</c>); <see cref="Create"/> says which is missing.
/// </summary>
internal sealed class CpuCap : IDisposable
{
    private const int PeriodMicroseconds = 100_000;
    private const string V1Root = "/sys/fs/cgroup/cpu";
    private const string V2Root = "/sys/fs/cgroup";

    private readonly string _dir;
    private readonly bool _v2;

    private CpuCap(string dir, bool v2, double cpus)
    {
        _dir = dir;
        _v2 = v2;
        Cpus = cpus;
    }

    /// <summary>The budget, in CPUs (0.25 = a quarter of one core's time).</summary>
    public double Cpus { get; }

    /// <summary>Where this machine can cap a process's CPU, or null with the reason when it cannot.</summary>
    public static string? WhyUnavailable()
    {
        if (Directory.Exists(V1Root) && File.Exists(Path.Combine(V1Root, "cpu.cfs_quota_us"))) return CanWrite(V1Root);
        if (File.Exists(Path.Combine(V2Root, "cgroup.controllers"))
            && File.ReadAllText(Path.Combine(V2Root, "cgroup.controllers")).Split(' ', '\n').Contains("cpu")) return CanWrite(V2Root);
        return "no cgroup cpu controller (neither /sys/fs/cgroup/cpu nor cgroup v2's cpu.max)";

        static string? CanWrite(string root)
        {
            var probe = Path.Combine(root, $"imlogger-bench-probe-{Environment.ProcessId}");
            try { Directory.CreateDirectory(probe); Directory.Delete(probe); return null; }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return $"cannot create a cgroup under {root} ({e.Message}): run as root"; }
        }
    }

    /// <summary>A new cgroup named <paramref name="name"/> holding at most <paramref name="cpus"/> CPUs.</summary>
    public static CpuCap Create(string name, double cpus)
    {
        if (WhyUnavailable() is { } why) throw new InvalidOperationException($"cannot cap an instance's CPU: {why}; run without --scale-cpu, or as root");
        var v2 = !File.Exists(Path.Combine(V1Root, "cpu.cfs_quota_us"));
        // Under the bench's own group, so that a bench given a large cpu.shares (to measure beside other work) keeps it for its instances.
        var dir = Path.Combine(v2 ? V2Root : V1Root, OwnGroup(v2), $"imlogger-bench-{Environment.ProcessId}-{name}");
        Directory.CreateDirectory(dir);
        var quota = ((int)Math.Round(cpus * PeriodMicroseconds)).ToString(CultureInfo.InvariantCulture);
        if (v2) File.WriteAllText(Path.Combine(dir, "cpu.max"), $"{quota} {PeriodMicroseconds}");
        else
        {
            File.WriteAllText(Path.Combine(dir, "cpu.cfs_period_us"), PeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(dir, "cpu.cfs_quota_us"), quota);
        }
        return new CpuCap(dir, v2, cpus);
    }

    /// <summary>This process's group in the cpu hierarchy, relative to its root ("" for the root).</summary>
    private static string OwnGroup(bool v2)
    {
        foreach (var line in File.ReadLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && (v2 ? parts[0] == "0" : parts[1].Split(',').Contains("cpu"))) return parts[2].TrimStart('/');
        }
        return "";
    }

    /// <summary>Moves the process (all its threads, and the ones it starts later) into the budget.</summary>
    public void Add(int pid) => File.WriteAllText(Path.Combine(_dir, "cgroup.procs"), pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Lifts the budget (the group stays): what follows the measured step, such as the stop's delivery, runs at the machine's speed.</summary>
    public void Lift()
    {
        if (_v2) File.WriteAllText(Path.Combine(_dir, "cpu.max"), $"max {PeriodMicroseconds}");
        else File.WriteAllText(Path.Combine(_dir, "cpu.cfs_quota_us"), "-1");
    }

    /// <summary>How long the kernel held the group back because its budget was spent (the cap was what bound it).</summary>
    public TimeSpan Throttled()
    {
        foreach (var line in File.ReadLines(Path.Combine(_dir, "cpu.stat")))
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var value)) continue;
            if (!_v2 && parts[0] == "throttled_time") return TimeSpan.FromTicks(value / 100); // nanoseconds
            if (_v2 && parts[0] == "throttled_usec") return TimeSpan.FromTicks(value * 10);
        }
        return TimeSpan.Zero;
    }

    /// <summary>Removes the group; its processes must have exited (a group with tasks cannot be removed: left for the kernel).</summary>
    public void Dispose()
    {
        try { Directory.Delete(_dir); }
        catch (IOException) { Console.Error.WriteLine($"  (cgroup {_dir} still has tasks; remove it with rmdir once they exit)"); }
    }
}

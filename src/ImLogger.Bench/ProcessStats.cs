namespace ImLogger.Bench;

/// <summary>CPU time and resident memory of a process, read from /proc (Linux only, as the benchmark is).</summary>
internal static class ProcessStats
{
    // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on; /proc/PID/stat counts in these ticks.
    private const double TicksPerSecond = 100;

    /// <summary>User plus system CPU time the process has used so far.</summary>
    public static TimeSpan Cpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime (fields 14 and 15)
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>Resident set size in bytes (VmRSS).</summary>
    public static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    /// <summary>Peak resident set size in bytes (VmHWM).</summary>
    public static long PeakRss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    public static int Self => Environment.ProcessId;

    /// <summary>Context switches of each of the process's live threads so far, by thread id: voluntary (it blocked: a wait,
    /// a lock, I/O) and involuntary (the scheduler took the core away). Load-independent enough to compare builds on a
    /// busy machine: a process that wakes many threads per message, or spins, shows it here whatever the wall clock did.</summary>
    public static Dictionary<int, (long Voluntary, long Involuntary)> ContextSwitches(int pid)
    {
        var threads = new Dictionary<int, (long, long)>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            long voluntary = 0, involuntary = 0;
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)) voluntary = long.Parse(line.AsSpan(24).Trim());
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal)) involuntary = long.Parse(line.AsSpan(27).Trim());
                }
            }
            catch (IOException)
            {
                continue; // the thread ended while being read
            }
            threads[int.Parse(Path.GetFileName(task))] = (voluntary, involuntary);
        }
        return threads;
    }

    /// <summary>Switches between two <see cref="ContextSwitches"/> readings: each thread alive at the second against its
    /// first reading (a thread started between them counts from zero). A thread that ended between them is not counted.</summary>
    public static (long Voluntary, long Involuntary) SwitchesBetween(
        Dictionary<int, (long Voluntary, long Involuntary)>? before, Dictionary<int, (long Voluntary, long Involuntary)>? after)
    {
        if (before == null || after == null) return default;
        long voluntary = 0, involuntary = 0;
        foreach (var (tid, now) in after)
        {
            var then = before.GetValueOrDefault(tid);
            voluntary += now.Voluntary - then.Voluntary;
            involuntary += now.Involuntary - then.Involuntary;
        }
        return (voluntary, involuntary);
    }

    /// <summary>Write system calls and bytes sent to storage so far (/proc/PID/io: syscw, write_bytes).</summary>
    public static (long WriteCalls, long BytesToDisk) Io(int pid)
    {
        long calls = 0, bytes = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/io"))
        {
            if (line.StartsWith("syscw:", StringComparison.Ordinal)) calls = long.Parse(line.AsSpan(6).Trim());
            else if (line.StartsWith("write_bytes:", StringComparison.Ordinal)) bytes = long.Parse(line.AsSpan(12).Trim());
        }
        return (calls, bytes);
    }
}

namespace ImLogger.Bench;

/// <summary>One round of the load section: every mode at every rate.</summary>
/// <param name="Number">1 for the first round.</param>
/// <param name="Order">The modes in the order this round ran them.</param>
/// <param name="ByMode">Each mode's results (its rates, then flat out), in the order of the modes given to the run, so
/// that every round's table reads the same whichever order it ran in.</param>
/// <param name="LoadAverage">The machine's one-minute load average at the round's start and end.</param>
/// <param name="Duration">The round's wall time, servers' and imlogger's starts and stops included.</param>
internal sealed record LoadRound(int Number, IReadOnlyList<ServerMode> Order, IReadOnlyList<(ServerMode Mode, IReadOnlyList<LoadResult> Results)> ByMode,
    string LoadAverage, TimeSpan Duration)
{
    /// <summary>The round's results as one list, for <see cref="Tables.Load"/>.</summary>
    public IReadOnlyList<LoadResult> Results => [.. ByMode.SelectMany(m => m.Results)];

    /// <summary>The step of <paramref name="mode"/> at <paramref name="rate"/> in this round, if it ran.</summary>
    public LoadResult? Find(ServerMode mode, double rate) =>
        ByMode.Where(m => ReferenceEquals(m.Mode, mode)).SelectMany(m => m.Results).FirstOrDefault(r => r.OfferedRate == rate);
}

internal sealed partial class LoadBench
{
    /// <summary>
    /// Runs every mode <paramref name="rounds"/> times. The order of the modes is reversed every other round, so that a
    /// drift in the machine's load over the run (builds next door, the disk's writeback) falls on all modes alike
    /// rather than on whichever ran last. Each mode's run is <see cref="RunModeAsync"/> unchanged (its own server,
    /// imlogger, warm-up and stop summary check); the rates within a mode keep their order, the warm-up being paced at
    /// the first rate.
    /// </summary>
    public async Task<IReadOnlyList<LoadRound>> RunRoundsAsync(IReadOnlyList<ServerMode> modes, int rounds)
    {
        var all = new List<LoadRound>();
        for (var number = 1; number <= rounds; number++)
        {
            var order = number % 2 == 1 ? modes : modes.Reverse().ToList();
            var before = LoadAverage();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Console.Error.WriteLine($"== load, round {number} of {rounds}: {string.Join(", ", order.Select(m => m.Name))} (load average {before})");
            var results = new Dictionary<ServerMode, IReadOnlyList<LoadResult>>(ReferenceEqualityComparer.Instance);
            foreach (var mode in order) results[mode] = await RunModeAsync(mode);
            all.Add(new LoadRound(number, order, [.. modes.Select(m => (m, results[m]))], $"{before} -> {LoadAverage()}", watch.Elapsed));
        }
        return all;
    }

    /// <summary>The one-minute load average, as /proc/loadavg says it.</summary>
    internal static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}

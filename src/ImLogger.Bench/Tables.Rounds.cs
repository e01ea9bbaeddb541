using System.Text;

namespace ImLogger.Bench;

/// <summary>The load section over several rounds (<c>--load-rounds</c>): each round's tables, the medians over rounds, and
/// issues 15 and 16's targets as ratios computed within each round.</summary>
internal static partial class Tables
{
    public static string LoadRounds(IReadOnlyList<LoadRound> rounds)
    {
        var s = new StringBuilder();
        foreach (var round in rounds)
        {
            s.AppendLine().AppendLine(Inv, $"### Load, round {round.Number} of {rounds.Count} (modes in this order: {string.Join(", ", round.Order.Select(m => m.Name))}; {round.Duration.TotalMinutes:0.0} min, load average {round.LoadAverage})");
            s.Append(Load(round.Results));
        }
        s.Append(LoadMedians(rounds));
        s.Append(LoadTargets(rounds));
        return s.ToString();
    }

    /// <summary>Per mode and rate, the median over rounds of each figure, with the lowest and highest beside it.</summary>
    private static string LoadMedians(IReadOnlyList<LoadRound> rounds)
    {
        var s = new StringBuilder();
        s.AppendLine().AppendLine(Inv, $"### 1, median over {rounds.Count} rounds (lowest-highest round in brackets; of an even count, the mean of the two middle rounds)");
        s.AppendLine().AppendLine("| offered | mode | delivered msg/s | p50 ms | p99 ms | server CPU ms/1000 msg | ImLogger CPU ms/1000 |");
        s.AppendLine("|---|---|---|---|---|---|---|");
        var modes = rounds[0].ByMode.Select(m => m.Mode).ToList();
        foreach (var rate in rounds[0].ByMode.SelectMany(m => m.Results).Select(r => r.OfferedRate).Distinct())
        {
            foreach (var mode in modes)
            {
                var steps = rounds.Select(r => r.Find(mode, rate)).ToList();
                if (steps.All(x => x == null)) continue;
                // A step whose copies did not all reach the spool says so in its mode's name (LoadBench.RunModeAsync).
                var missing = rounds.Where((_, i) => steps[i] is { } x && x.Mode != mode.Name).Select(r => r.Number).ToList();
                var name = missing.Count == 0 ? mode.Name : $"{mode.Name} (copies missing in round {string.Join(", ", missing)}!)";
                string Cell(Func<LoadResult, double?> figure, string format) => Spread(steps.Select(x => x == null ? null : figure(x)), format);
                s.AppendLine(Inv, $"| {(rate > 0 ? $"{rate:0}/s" : "flat out")} | {name} | {Cell(x => x.DeliveredPerSecond, "0")} | {Cell(x => x.P50Ms, "0.00")} | {Cell(x => x.P99Ms, "0.00")} | {Cell(x => x.ProsodyCpuMsPer1000, "0.0")} | {Cell(x => x.ImLoggerCpuMsPer1000, "0.0")} |");
            }
        }
        return s.ToString();
    }

    /// <summary>Each target's ratio in each round (both sides measured in that round) and the median of those ratios.</summary>
    private static string LoadTargets(IReadOnlyList<LoadRound> rounds)
    {
        var targets = LoadTarget.For(rounds[0]);
        if (targets.Count == 0) return "";
        var s = new StringBuilder();
        s.AppendLine().AppendLine("### Targets of issues 15 and 16: the ratio in each round (both sides from that round), and the median of those ratios");
        s.AppendLine().AppendLine(Inv, $"| target | {string.Join(" | ", rounds.Select(r => $"round {r.Number}"))} | median | at most | verdict (on the median) | rounds within |");
        s.AppendLine(Inv, $"|---|{string.Concat(rounds.Select(_ => "---|"))}---|---|---|---|");
        foreach (var target in targets)
        {
            var ratios = rounds.Select(target.Ratio).ToList();
            var median = Median(ratios);
            var verdict = median == null ? "no figure" : median <= target.Limit ? "met" : "missed";
            var within = $"{ratios.Count(r => r <= target.Limit)} of {ratios.Count(r => r != null)}";
            s.AppendLine(Inv, $"| {target.Name} | {string.Join(" | ", ratios.Select(r => Ratio(r)))} | {Ratio(median)} | {target.Limit:0.00}x | {verdict} | {within} |");
        }
        return s.ToString();
    }

    private static string Ratio(double? r) => r is { } x ? x.ToString("0.00", Inv) + "x" : "-";

    /// <summary>"median (lowest-highest)" of the figures that exist; "-" when none does.</summary>
    private static string Spread(IEnumerable<double?> values, string format)
    {
        var v = values.OfType<double>().Where(x => !double.IsNaN(x)).ToList();
        if (Median(values) is not { } median) return "-";
        return v.Count == 1 ? median.ToString(format, Inv) : $"{median.ToString(format, Inv)} ({v.Min().ToString(format, Inv)}-{v.Max().ToString(format, Inv)})";
    }

    /// <summary>The middle value of those that exist (not null, not NaN); of an even count, the mean of the two middle
    /// ones. Null when none exists.</summary>
    internal static double? Median(IEnumerable<double?> values)
    {
        var v = values.OfType<double>().Where(x => !double.IsNaN(x)).Order().ToArray();
        if (v.Length == 0) return null;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }
}

/// <summary>One of issues 15 and 16's targets: a ratio of two figures measured in the same round, at most <paramref name="Limit"/>.</summary>
/// <param name="Name">The issue and the target's wording, with the rate.</param>
/// <param name="Limit">The target: the highest ratio that meets it.</param>
/// <param name="Ratio">The ratio in one round; null when a side is missing there (a mode left out, no messages delivered).</param>
internal sealed record LoadTarget(string Name, double Limit, Func<LoadRound, double?> Ratio)
{
    /// <summary>The targets that apply to the modes and rates of <paramref name="round"/>: the Prosody modes only (issue
    /// 18's ejabberd columns have their own baseline and are not among these targets). Every inline column (the shipped
    /// module and each <c>--inline-module</c>) gets the inline rows; flat out has no target.</summary>
    public static IReadOnlyList<LoadTarget> For(LoadRound round)
    {
        var modes = round.ByMode.Select(m => m.Mode).ToList();
        var alone = modes.FirstOrDefault(m => m.Name == LoadBench.Alone.Name);
        if (alone == null) return [];
        var tap = modes.FirstOrDefault(m => m.Server == "prosody" && m.WithImLogger && m.Attach == null);
        var inlines = modes.Where(m => m.Server == "prosody" && m.Attach != null).ToList();
        var rates = round.ByMode.First(m => ReferenceEquals(m.Mode, alone)).Results.Select(r => r.OfferedRate).Where(r => r > 0).Distinct().ToList();
        var targets = new List<LoadTarget>();
        void Add(string name, double limit, Func<LoadRound, double, double?> ratio) =>
            targets.AddRange(rates.Select(rate => new LoadTarget($"{name}, {rate:0}/s", limit, r => ratio(r, rate))));
        if (tap != null)
            Add("15: ImLogger tap <= Prosody alone", 1.0, (r, rate) => Of(r.Find(tap, rate)?.ImLoggerCpuMsPer1000, r.Find(alone, rate)?.ProsodyCpuMsPer1000));
        // A floor column's component is not ImLogger: its own CPU is no figure of issue 15's; its 16 rows say what is in reach.
        foreach (var inline in inlines.Where(m => !m.Floor))
            Add($"15: ImLogger {inline.Name} <= 1.5x Prosody alone", 1.5, (r, rate) => Of(r.Find(inline, rate)?.ImLoggerCpuMsPer1000, r.Find(alone, rate)?.ProsodyCpuMsPer1000));
        if (tap != null)
            foreach (var inline in inlines)
                Add($"16: Prosody with {inline.Name} <= Prosody with tap", 1.0, (r, rate) => Of(r.Find(inline, rate)?.ProsodyCpuMsPer1000, r.Find(tap, rate)?.ProsodyCpuMsPer1000));
        // The last two are the issue's at 2,000 msg/s only.
        if (rates.Contains(2000))
        {
            foreach (var inline in inlines)
                targets.Add(new($"16: Prosody with {inline.Name} <= +50% over Prosody alone, 2000/s", 1.5, r => Of(r.Find(inline, 2000)?.ProsodyCpuMsPer1000, r.Find(alone, 2000)?.ProsodyCpuMsPer1000)));
            foreach (var inline in inlines)
                targets.Add(new($"16: {inline.Name} p99 <= 1.5x Prosody alone's, 2000/s", 1.5, r => Of(r.Find(inline, 2000)?.P99Ms, r.Find(alone, 2000)?.P99Ms)));
        }
        return targets;
    }

    /// <summary><paramref name="a"/> / <paramref name="b"/>, or null when either is missing or the baseline is not positive.</summary>
    private static double? Of(double? a, double? b) =>
        a is { } x && b is { } y && !double.IsNaN(x) && !double.IsNaN(y) && y > 0 ? x / y : null;
}

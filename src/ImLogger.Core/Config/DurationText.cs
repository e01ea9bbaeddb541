using System.Globalization;

namespace ImLogger.Config;

/// <summary>
/// Durations as the config writes them ("10s", "15m", "1h30m", "2d"), so what ImLogger prints can be pasted back into
/// the config; TimeSpan's own "00:00:10" reads as a time of day.
/// </summary>
public static class DurationText
{
    /// <summary>The shortest exact form: whole days, hours, minutes and seconds, then milliseconds ("250ms").</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.Zero) return "-" + Format(value.Negate());
        if (value == TimeSpan.Zero) return "0s";
        if (value < TimeSpan.FromSeconds(1)) return ((long)Math.Round(value.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "ms";
        var parts = new List<string>(4);
        if (value.Days > 0) parts.Add(value.Days.ToString(CultureInfo.InvariantCulture) + "d");
        if (value.Hours > 0) parts.Add(value.Hours.ToString(CultureInfo.InvariantCulture) + "h");
        if (value.Minutes > 0) parts.Add(value.Minutes.ToString(CultureInfo.InvariantCulture) + "m");
        var seconds = value.Seconds + value.Milliseconds / 1000.0;
        if (seconds > 0) parts.Add(seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s");
        return string.Concat(parts);
    }
}

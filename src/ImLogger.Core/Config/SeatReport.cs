namespace ImLogger.Config;

/// <summary>What an admin must be told about seats: who is listed for logging but not logged because an
/// organization has more users than provisioned seats. Said on every start, reload and check-config.</summary>
public static class SeatReport
{
    /// <summary>One sentence per organization over its limit; empty when every listed user is logged.</summary>
    public static IReadOnlyList<string> OverLimitWarnings(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Organizations.Where(o => o.OverLimit.Count > 0).Select(o =>
            $"organization {o.Name} has {o.Seats} provisioned seat(s) and {o.Users.Count + o.OverLimit.Count} listed user(s): " +
            $"{o.OverLimit.Count} user(s) over the seat limit are NOT logged: " +
            string.Join(", ", o.OverLimit.Select(u => u.Source == null ? u.Jid : $"{u.Jid} ({u.Source})")) +
            ". Raise seats=\"...\" (and the licence) or remove users; users are taken in the config's order").ToList();
    }
}

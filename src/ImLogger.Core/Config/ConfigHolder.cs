namespace ImLogger.Config;

/// <summary>
/// The config in force while the component runs. The pipeline's stages read <see cref="Current"/> for each
/// stanza, so a reload takes effect for the next stanza without dropping the connection or open transcripts.
/// </summary>
/// <remarks>
/// Only the parts that decide who is logged and how (organizations, users, seats, notifications, approved
/// clients) and the settings of existing endpoints (their sinks are rebuilt, see <see cref="EndpointChanges"/>) change
/// live. The rest (component connection, spool, the set of endpoints and their types, max-attempts, attach mode, transcript timings,
/// restrictions, services, the set of organization domains) is wired into long-lived objects: a reload that changes it
/// is refused as a whole, with the reason, and the running config stays in force.
/// </remarks>
public sealed class ConfigHolder(ImLoggerConfig initial)
{
    private ImLoggerConfig _current = initial ?? throw new ArgumentNullException(nameof(initial));

    /// <summary>The config in force.</summary>
    public ImLoggerConfig Current => Volatile.Read(ref _current);

    /// <summary>Why <paramref name="next"/> cannot replace <paramref name="running"/> without a restart; null when it can.</summary>
    public static string? NeedsRestart(ImLoggerConfig running, ImLoggerConfig next)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(next);
        var changed = new List<string>();
        if (running.Component with { SecretSource = "" } != next.Component with { SecretSource = "" }) changed.Add("<component>");
        if (running.SpoolPath != next.SpoolPath || running.SpoolKeyFile != next.SpoolKeyFile) changed.Add("<spool>");
        if (running.IdleClose != next.IdleClose || running.DedupWindow != next.DedupWindow) changed.Add("<transcripts>");
        if (running.RetryFor != next.RetryFor) changed.Add("<endpoints retry-for>");
        if (running.Attach with { RulesOut = null } != next.Attach with { RulesOut = null }) changed.Add("<attach> mode, failure-mode, timeout or heartbeat");
        if (running.Failover != next.Failover) changed.Add("<failover>");
        if (running.ScaleOut != next.ScaleOut) changed.Add("<scale-out>");
        if (!running.Restrictions.EncryptedRooms.SequenceEqual(next.Restrictions.EncryptedRooms)) changed.Add("<restrictions>");
        if (!Same(running.Services.TelephonyGateways, next.Services.TelephonyGateways) || !Same(running.Services.MeetingServices, next.Services.MeetingServices))
            changed.Add("<services>");
        if (!running.Organizations.SelectMany(o => o.Domains).Order().SequenceEqual(next.Organizations.SelectMany(o => o.Domains).Order()))
            changed.Add("the set of organization domains");
        changed.AddRange(EndpointChanges.Between(running.Endpoints, next.Endpoints).Where(c => c.Restart is not null).Select(c => $"{c} ({c.Restart})"));
        return changed.Count == 0 ? null
            : $"{string.Join(", ", changed)} changed, which takes effect only at a restart (systemctl restart imlogger); nothing of the new file was applied";
    }

    private static bool Same(IReadOnlyCollection<string>? a, IReadOnlyCollection<string>? b) =>
        a == null ? b == null : b != null && a.SequenceEqual(b);

    /// <summary>Puts <paramref name="next"/> in force (after <see cref="NeedsRestart"/> said it can be).</summary>
    public void Replace(ImLoggerConfig next)
    {
        ArgumentNullException.ThrowIfNull(next);
        Volatile.Write(ref _current, next);
    }
}

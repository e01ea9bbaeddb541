namespace ImLogger.Config;

/// <summary>Which part an instance plays in a failover pair (docs/failover.md).</summary>
public enum FailoverRole
{
    /// <summary>Expected to hold the component; if another instance holds it, this one waits as standby anyway, with a Warning.</summary>
    Active,
    /// <summary>Expected to wait while another instance holds the component, and to take over when that connection ends.</summary>
    Standby,
}

/// <summary><c>&lt;failover role="standby" instance="archive-b" retry="2s"/&gt;</c>: two ImLogger instances, each with its own
/// spool, for one component domain; the server lets one connect at a time. Absent: a single instance (it still waits as
/// standby if the server says another connection holds the component, with a Warning).</summary>
public sealed record FailoverSettings
{
    public FailoverRole Role { get; init; } = FailoverRole.Active;

    /// <summary>This instance's name, written in transcripts split at a failover and in <c>imlogger report</c>; the host
    /// name by default.</summary>
    public string Instance { get; init; } = Environment.MachineName;

    /// <summary>How often an instance waiting as standby tries to take over: the longest the component stays away after the
    /// active one's connection ends (Prosody logs each refused attempt, so not much shorter).</summary>
    public TimeSpan Retry { get; init; } = TimeSpan.FromSeconds(2);
}

namespace ImLogger.Config;

/// <summary>How the server hands ImLogger the logged users' stanzas.</summary>
public enum AttachMode
{
    /// <summary>Stock mod_firewall copies (XEP-0297): archives, cannot block. See docs/tap-mode.md.</summary>
    Tap,
    /// <summary>The server holds each stanza until ImLogger decides (mod_imlogger_inline). See docs/inline-protocol.md.</summary>
    Inline,
}

/// <summary>What the inline adapter does with a logged user's stanza while ImLogger cannot answer.</summary>
public enum FailureMode
{
    /// <summary>Refuse it: nothing of a logged user is delivered unlogged (the default).</summary>
    Closed,
    /// <summary>Deliver it unlogged, and report the gap when ImLogger returns.</summary>
    Open,
}

/// <summary><c>&lt;attach mode="inline" failure-mode="closed" timeout="10s"/&gt;</c>.</summary>
public sealed record AttachSettings
{
    public AttachMode Mode { get; init; } = AttachMode.Tap;

    public FailureMode FailureMode { get; init; } = FailureMode.Closed;

    /// <summary>How long the server waits for a verdict before applying <see cref="FailureMode"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>Restrictions beyond those that always apply to logged users (no end-to-end encryption, no group chats on other servers).</summary>
public sealed record RestrictionSettings
{
    /// <summary>Group chats known to be end-to-end encrypted (bare room JIDs), which logged users may not join.
    /// Rooms where encrypted traffic is seen are added while ImLogger runs.</summary>
    public IReadOnlyList<string> EncryptedRooms { get; init; } = [];
}

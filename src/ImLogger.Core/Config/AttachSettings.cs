namespace ImLogger.Config;

/// <summary>How the server hands ImLogger the logged users' stanzas.</summary>
public enum AttachMode
{
    /// <summary>Stock mod_firewall copies (XEP-0297): archives, cannot block. See docs/tap-mode.md.</summary>
    Tap,
    /// <summary>The server holds each stanza until ImLogger decides (mod_imlogger_inline). See docs/inline-protocol.md.</summary>
    Inline,
}

/// <summary>The XMPP server ImLogger attaches to: what <c>imlogger server-config</c> writes for.</summary>
public enum XmppServerKind
{
    /// <summary>Prosody 0.12: mod_imlogger_inline.lua (inline) or mod_firewall rules (tap).</summary>
    Prosody,
    /// <summary>ejabberd 23.01: mod_imlogger_inline.erl, a contributed module (inline mode only).</summary>
    Ejabberd,
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
    /// <summary>Inline unless the config says <c>mode="tap"</c>: inline fail-closed is the only mode that enforces the
    /// restrictions and never delivers a logged user's stanza unarchived (<see cref="TapLimitations"/>).</summary>
    public AttachMode Mode { get; init; } = AttachMode.Inline;

    /// <summary><c>server="prosody|ejabberd"</c>: the server the rules are written for (Prosody when absent).</summary>
    public XmppServerKind Server { get; init; } = XmppServerKind.Prosody;

    public FailureMode FailureMode { get; init; } = FailureMode.Closed;

    /// <summary>How long the server waits for a verdict before applying <see cref="FailureMode"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Folder where <c>imlogger run</c> writes the server-side rules (the same files as
    /// <c>imlogger prosody-config --out</c>) at start and on every reload; null: never written by the service.</summary>
    public string? RulesOut { get; init; }

    /// <summary>How often the server side proves it is loaded (docs/admin-guide.md, "Is the server side loaded?"): tap
    /// mode sends a heartbeat through the firewall rules this often, and mod_imlogger_inline sends one. A domain silent
    /// for <see cref="AliveDeadline"/> is reported as not loaded.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Two heartbeats: one may be lost or late without an alarm.</summary>
    public TimeSpan AliveDeadline => Heartbeat * 2;
}

/// <summary>Restrictions beyond those that always apply to logged users (no end-to-end encryption, no group chats on other servers).</summary>
public sealed record RestrictionSettings
{
    /// <summary>Group chats known to be end-to-end encrypted (bare room JIDs), which logged users may not join.
    /// Rooms where encrypted traffic is seen are added while ImLogger runs.</summary>
    public IReadOnlyList<string> EncryptedRooms { get; init; } = [];
}

/// <summary>
/// A client logged users may use: matched by its XEP-0092 software name (case-insensitive) or its XEP-0115
/// caps node (prefix: "http://conversations.im" matches "http://conversations.im/..."), at least <see cref="MinVersion"/>.
/// </summary>
public sealed record ApprovedClient(string? Name, string? CapsNode, Version? MinVersion)
{
    /// <summary>Whether a client so identified is this approved one (version checked when both are known).</summary>
    public bool Matches(string? softwareName, string? capsNode, Version? version)
    {
        var byName = Name != null && softwareName != null && string.Equals(Name, softwareName.Trim(), StringComparison.OrdinalIgnoreCase);
        var byNode = CapsNode != null && capsNode != null && capsNode.StartsWith(CapsNode, StringComparison.OrdinalIgnoreCase);
        if (!byName && !byNode) return false;
        return MinVersion == null || (version != null && version >= MinVersion);
    }

    /// <summary>"1.8.3", "2.12.1+free", "v1.8": the leading dotted numbers.</summary>
    public static bool TryParseVersion(string? text, out Version? version)
    {
        version = null;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var digits = new string(text.Trim().TrimStart('v', 'V').TakeWhile(c => char.IsDigit(c) || c == '.').ToArray()).Trim('.');
        if (digits.Length == 0) return false;
        var parts = digits.Split('.', StringSplitOptions.RemoveEmptyEntries).Take(4).ToList();
        while (parts.Count < 2) parts.Add("0");
        return Version.TryParse(string.Join('.', parts), out version);
    }

    public override string ToString() => (Name ?? CapsNode ?? "?") + (MinVersion == null ? "" : $" {MinVersion} or later");
}

namespace ImLogger.Config;

/// <summary>
/// <c>&lt;reload settle="1s" confirm-drops-after="30s"/&gt;</c>: how a running service takes in an edited config or
/// user list (docs/admin-guide.md, "Live reload").
/// </summary>
/// <remarks>
/// A list rewritten in place (<c>export &gt; users.csv</c> truncates, then writes) is, for a moment, half a list: read
/// then, it would stop logging users who were never meant to be dropped. So files are read only once they have been
/// unchanged for <see cref="Settle"/>, and a reload that would suddenly drop most logged users (or all) is held until
/// confirmed: by the same files, unchanged, after <see cref="ConfirmDropsAfter"/>, or by <c>imlogger reload --confirm</c>.
/// </remarks>
public sealed record ReloadSettings
{
    /// <summary>How long every file must stay unchanged (size, time and bytes) before it is read. Longer waits
    /// out slower writers; each reload takes at least this long.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A held sudden drop is applied once the files have stayed identical for this long (the edit was
    /// deliberate); null: only <c>imlogger reload --confirm</c> applies it. Shorter means a failed export that left a
    /// header-only list stops logging sooner; longer means a deliberate mass removal waits longer (or needs the command).</summary>
    public TimeSpan? ConfirmDropsAfter { get; init; } = TimeSpan.FromSeconds(30);
}

namespace ImLogger.Config;

/// <summary>What <see cref="ReloadGuard.Decide"/> says about a loaded config.</summary>
public enum ReloadVerdict
{
    /// <summary>Put it in force: it drops nobody, or too few to look like a half-written list.</summary>
    Apply,
    /// <summary>A sudden drop, confirmed (same files after the confirmation period, or the operator's command): put it in force.</summary>
    ApplyConfirmed,
    /// <summary>A sudden drop seen for the first time (or with new content): keep the running config; warn.</summary>
    Hold,
    /// <summary>The same held drop seen again before it is confirmed: keep the running config; already warned.</summary>
    StillHeld,
}

/// <summary>A decision and what it rests on.</summary>
/// <param name="Verdict">What to do.</param>
/// <param name="Dropped">Who the new config would stop logging, sorted.</param>
/// <param name="Before">How many were logged under the running config.</param>
/// <param name="ConfirmsAt">When a held drop is applied by itself if the files stay identical; null when held for the operator only, or not held.</param>
/// <param name="Why">Why a drop was applied (confirmed how), or why it is held; for the log.</param>
public sealed record ReloadDecision(ReloadVerdict Verdict, IReadOnlyList<string> Dropped, int Before, DateTimeOffset? ConfirmsAt, string Why);

/// <summary>
/// Keeps a half-written user list from stopping logging: a reload that would drop most logged users (more than half,
/// at least two) or all of them is held, and the running list stays in force, until it is confirmed: the same files
/// (by <see cref="ConfigFileSnapshot.Fingerprint"/>) still there after <see cref="ReloadSettings.ConfirmDropsAfter"/>,
/// or the operator's <c>imlogger reload --confirm</c>. Any other reload is applied at once.
/// </summary>
/// <remarks>Not thread-safe: the reload loop is its only caller. Times come from the <see cref="TimeProvider"/>.</remarks>
public sealed class ReloadGuard(TimeProvider time)
{
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));
    private Held? _held;

    private sealed record Held(string Fingerprint, DateTimeOffset FirstSeen, IReadOnlyList<string> Dropped);

    /// <summary>The drop held now (who it would stop logging); null when none is.</summary>
    public IReadOnlyList<string>? Holding => _held?.Dropped;

    /// <summary>Whether dropping <paramref name="dropped"/> of <paramref name="before"/> logged users looks like a
    /// half-written list rather than an edit: all of them, or more than half when that is at least two.</summary>
    public static bool IsSuddenDrop(int before, int dropped)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(before);
        ArgumentOutOfRangeException.ThrowIfNegative(dropped);
        if (dropped == 0) return false;
        return dropped >= before || (dropped >= 2 && dropped * 2 > before);
    }

    /// <summary>Decides whether a loaded config may replace the running one.</summary>
    /// <param name="loggedNow">Who is logged under the running config.</param>
    /// <param name="loggedNext">Who would be logged under the new one.</param>
    /// <param name="fingerprint">The new config's files (<see cref="ConfigFileSnapshot.Fingerprint"/>).</param>
    /// <param name="confirmAfter">How long identical files confirm a drop; null: only <paramref name="confirmedByOperator"/> does.</param>
    /// <param name="confirmedByOperator">The operator asked to apply the files as they are (<c>imlogger reload --confirm</c>).</param>
    public ReloadDecision Decide(IReadOnlyCollection<string> loggedNow, IReadOnlyCollection<string> loggedNext, string fingerprint, TimeSpan? confirmAfter, bool confirmedByOperator)
    {
        ArgumentNullException.ThrowIfNull(loggedNow);
        ArgumentNullException.ThrowIfNull(loggedNext);
        ArgumentException.ThrowIfNullOrEmpty(fingerprint);
        var next = loggedNext as IReadOnlySet<string> ?? loggedNext.ToHashSet(StringComparer.Ordinal);
        var dropped = loggedNow.Where(u => !next.Contains(u)).Order(StringComparer.Ordinal).ToList();
        var now = _time.GetUtcNow();
        if (!IsSuddenDrop(loggedNow.Count, dropped.Count))
        {
            _held = null;
            return new ReloadDecision(ReloadVerdict.Apply, dropped, loggedNow.Count, null, "");
        }
        if (confirmedByOperator)
        {
            _held = null;
            return new ReloadDecision(ReloadVerdict.ApplyConfirmed, dropped, loggedNow.Count, null, "confirmed by the operator (imlogger reload --confirm)");
        }
        if (_held is { } held && held.Fingerprint == fingerprint)
        {
            if (confirmAfter is { } wait && now - held.FirstSeen >= wait)
            {
                _held = null;
                return new ReloadDecision(ReloadVerdict.ApplyConfirmed, dropped, loggedNow.Count, null,
                    $"confirmed: the files stayed identical for {Seconds(now - held.FirstSeen)} (confirm-drops-after {Seconds(wait)})");
            }
            return new ReloadDecision(ReloadVerdict.StillHeld, dropped, loggedNow.Count, held.FirstSeen + confirmAfter, "");
        }
        _held = new Held(fingerprint, now, dropped);
        return new ReloadDecision(ReloadVerdict.Hold, dropped, loggedNow.Count, now + confirmAfter, "");
    }

    /// <summary>Forgets a held drop (the running config was replaced another way, or the files went back).</summary>
    public void Forget() => _held = null;

    private static string Seconds(TimeSpan t) => $"{t.TotalSeconds:0.#}s";
}

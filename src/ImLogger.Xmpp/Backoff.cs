namespace ImLogger.Xmpp;

/// <summary>
/// Exponential backoff with "full jitter": each delay is uniform in [0, cap], the cap doubling from the initial
/// delay up to the maximum. Jitter spreads reconnects of many instances after a server restart.
/// </summary>
internal sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly Func<double> _random;
    private int _attempt;

    /// <param name="initial">Cap of the first delay.</param>
    /// <param name="max">Largest cap.</param>
    /// <param name="random">Returns a value in [0, 1); injectable so tests are deterministic.</param>
    public Backoff(TimeSpan initial, TimeSpan max, Func<double>? random = null)
    {
        _initial = initial;
        _max = max;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>The cap the next call to <see cref="Next"/> draws under.</summary>
    public TimeSpan CurrentCap
    {
        get
        {
            // Cap the exponent so the multiplication cannot overflow after many failed attempts.
            var factor = Math.Pow(2, Math.Min(_attempt, 30));
            var ticks = Math.Min(_max.Ticks, _initial.Ticks * factor);
            return TimeSpan.FromTicks((long)ticks);
        }
    }

    /// <summary>Returns the delay before the next attempt and advances the exponent.</summary>
    public TimeSpan Next()
    {
        var cap = CurrentCap;
        _attempt++;
        return TimeSpan.FromTicks((long)(cap.Ticks * _random()));
    }

    /// <summary>Starts over from the initial delay (after a successful handshake).</summary>
    public void Reset() => _attempt = 0;
}

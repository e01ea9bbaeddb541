using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests;

/// <summary>
/// A clock whose wall time can be stepped (as NTP steps a clock that ran fast or slow) while its monotonic timestamp and
/// its timers go on undisturbed. <see cref="FakeTimeProvider"/> ties the two (its timestamp is its wall time, and it
/// refuses to go back), so this wraps one: <see cref="Advance"/> moves both, <see cref="Step"/> only the wall time.
/// </summary>
internal sealed class SteppedClock(DateTimeOffset start) : TimeProvider
{
    private readonly FakeTimeProvider _inner = new(start);
    private TimeSpan _step;

    /// <summary>Real time passing: wall time, timestamp and timers all move.</summary>
    public void Advance(TimeSpan delta) => _inner.Advance(delta);

    /// <summary>The wall clock is set back (negative) or forward; no time passes.</summary>
    public void Step(TimeSpan delta) => _step += delta;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow() + _step;

    /// <inheritdoc />
    public override long GetTimestamp() => _inner.GetTimestamp();

    /// <inheritdoc />
    public override long TimestampFrequency => _inner.TimestampFrequency;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        _inner.CreateTimer(callback, state, dueTime, period);
}

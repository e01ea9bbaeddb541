namespace ImLogger.Xmpp.Tests;

public class BackoffTests
{
    [Test]
    public void Caps_DoubleUpToTheMaximum_AndResetStartsOver()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), () => 0.999999);
        var caps = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            caps.Add(backoff.CurrentCap.TotalSeconds);
            backoff.Next();
        }
        Assert.That(caps, Is.EqualTo(new[] { 1d, 2d, 4d, 8d, 10d, 10d }));
        backoff.Reset();
        Assert.That(backoff.CurrentCap, Is.EqualTo(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public void Delays_AreJitteredWithinZeroAndTheCap()
    {
        var random = new Random(12345);
        var backoff = new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(3), random.NextDouble);
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 200; i++)
        {
            var cap = backoff.CurrentCap;
            var delay = backoff.Next();
            Assert.That(delay, Is.InRange(TimeSpan.Zero, cap));
            delays.Add(delay);
        }
        Assert.That(delays.Distinct().Count(), Is.GreaterThan(150), "jitter spreads the delays");
        Assert.That(delays.Skip(10).Max(), Is.GreaterThan(TimeSpan.FromSeconds(2)), "later delays use the larger cap");
    }

    [Test]
    public void ManyAttempts_DoNotOverflow()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), () => 0.5);
        for (var i = 0; i < 1000; i++)
            backoff.Next();
        Assert.That(backoff.Next(), Is.EqualTo(TimeSpan.FromSeconds(30)));
    }
}

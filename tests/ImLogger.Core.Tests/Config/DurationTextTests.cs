using ImLogger.Config;

namespace ImLogger.Core.Tests.Config;

[TestFixture]
public class DurationTextTests
{
    [TestCase(10, "10s")]
    [TestCase(900, "15m")]
    [TestCase(5400, "1h30m")]
    [TestCase(90061, "1d1h1m1s")]
    [TestCase(0.25, "250ms")]
    [TestCase(1.5, "1.5s")]
    [TestCase(0, "0s")]
    public void PrintsTheConfigsOwnForm(double seconds, string expected) =>
        Assert.That(DurationText.Format(TimeSpan.FromSeconds(seconds)), Is.EqualTo(expected));

    [TestCase(10)]
    [TestCase(900)]
    [TestCase(5400)]
    [TestCase(90061)]
    [TestCase(0.25)]
    [TestCase(604800)]
    public void WhatItPrintsTheConfigReadsBack(double seconds)
    {
        var value = TimeSpan.FromSeconds(seconds);
        Assert.That(ConfigLoader.TryParseDuration(DurationText.Format(value), out var back), Is.True);
        Assert.That(back, Is.EqualTo(value));
    }

    [TestCase("")]
    [TestCase("10")]
    [TestCase("s")]
    [TestCase("10x")]
    [TestCase("1h 30m")]
    [TestCase("-5s")]
    [TestCase("0s")]
    [TestCase("1.2.3s")]
    [TestCase("10sm")]
    public void RefusesWhatIsNotADuration(string text) =>
        Assert.That(ConfigLoader.TryParseDuration(text, out _), Is.False, text);
}

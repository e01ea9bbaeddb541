using ImLogger.Domain;

namespace ImLogger.Tests.Spool.Ports;

/// <summary><see cref="IAnsweredRequests"/> alone, on a real LiteDB file: what an answered verdict request archived as
/// allowed is found again by a later run once made durable, and taken once.</summary>
[TestFixture]
public sealed class AnsweredRequestsPortTests : SpoolPortFixture
{
    [Test]
    public void ARememberedRequestIsFoundByTheNextRunAndTakenOnce()
    {
        var answered = Open<IAnsweredRequests>();
        var allowed = new[] { Chat("one", T0), Chat("two", T0.AddSeconds(1)) };
        answered.RememberAnswered("req-1", allowed);
        answered.FlushAnswered();

        answered = Reopen<IAnsweredRequests>();
        Assert.That(answered.TakeAnswered("req-1")?.Select(e => (e.Id, e.Text)), Is.EqualTo(allowed.Select(e => (e.Id, e.Text))));
        Assert.That(answered.TakeAnswered("req-1"), Is.Null, "a report sent twice marks nothing twice");
        answered.FlushAnswered();
        Assert.That(Reopen<IAnsweredRequests>().TakeAnswered("req-1"), Is.Null, "taken for good once the next write went through");
        Assert.That(Reopen<IAnsweredRequests>().TakeAnswered("req-unknown"), Is.Null);
    }

    [Test]
    public void WhatIsNotYetDurableIsStillFoundInThisRunButNotByTheNext()
    {
        var answered = Open<IAnsweredRequests>();
        answered.RememberAnswered("req-2", [Chat("queued", T0)]);
        answered.RememberAnswered("req-empty", []);
        Assert.That(answered.TakeAnswered("req-2")?.Single().Text, Is.EqualTo("queued"));
        answered.RememberAnswered("req-3", [Chat("never flushed", T0)]);
        Assert.That(answered.TakeAnswered("req-empty"), Is.Null, "nothing allowed: nothing to remember");
        Assert.That(Reopen<IAnsweredRequests>().TakeAnswered("req-3"), Is.Null, "made durable only with the next write (the caller answers after it)");
    }

    [Test]
    public void WhatWasAnsweredLatelyIsRecalledByTheNextRunWithEachContentDigest()
    {
        var answered = Open<IAnsweredRequests>();
        byte[] one = [.. Enumerable.Repeat((byte)1, 32)], two = [.. Enumerable.Repeat((byte)2, 32)];
        answered.RememberAnswered("req-1", [Chat("one", T0), Chat("two", T0.AddSeconds(1))], [one, two]);
        answered.RememberAnswered("req-old-format", [Chat("three", T0)]);
        Assert.That(() => answered.RememberAnswered("req-2", [Chat("four", T0)], [one, two]), Throws.ArgumentException, "one digest per event");
        answered.FlushAnswered();

        var recalled = Reopen<IAnsweredRequests>().AnsweredSince(TimeSpan.FromMinutes(2));
        Assert.That(recalled.Select(r => (r.Event.Text, r.Content)), Is.EquivalentTo(new (string?, byte[]?)[] { ("one", one), ("two", two), ("three", null) }));
        Assert.That(Reopen<IAnsweredRequests>().AnsweredSince(TimeSpan.Zero - TimeSpan.FromMinutes(1)), Is.Empty, "nothing answered in the future");
    }
}

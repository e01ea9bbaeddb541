using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// One user floods a logged user (tap mode, real processes): the component keeps up or pushes back through TCP
/// (its queue is bounded), stays up with bounded memory, and another user's message in the middle of the flood
/// is archived like any other. There is no per-user rate limit: a flood of real messages is archived in full.
/// </summary>
[TestFixture, NonParallelizable]
public class FloodDrillTests
{
    [Test, CancelAfter(240_000)]
    public async Task FloodFromOneUserDoesNotCrowdOutOthersOrGrowMemoryWithoutBound()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, """<notifications inside="off" outside="off" />""");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await using var carol = await RawXmppClient.LoginAsync(world.Prosody, "carol");

        const int flood = 20_000;
        var flooding = Task.Run(async () =>
        {
            for (var i = 0; i < flood; i++) await bob.ChatAsync("alice", $"drill-{i}");
        });
        await Task.Delay(200);
        await carol.ChatAsync("alice", "drill-999999"); // carol's, in the middle of the flood
        await flooding;
        await ImLoggerProcess.WaitSpooledAsync(imlogger, flood + 1, TimeSpan.FromSeconds(150));
        var peak = PeakRssBytes(imlogger.Id);
        Assert.That(imlogger.HasExited, Is.False);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(120)), Is.Zero);

        var bodies = world.Archived().SelectMany(m => System.Text.RegularExpressions.Regex.Matches(m.TextBody ?? "", @"drill-\d+").Select(x => x.Value)).ToList();
        TestContext.Out.WriteLine($"peak RSS {peak / 1048576} MB; {bodies.Count} archived");
        Assert.Multiple(() =>
        {
            Assert.That(bodies, Does.Contain("drill-999999"), "carol's message during the flood is archived");
            Assert.That(bodies.Distinct().Count(), Is.EqualTo(flood + 1));
            Assert.That(bodies, Has.Count.EqualTo(flood + 1), "each once");
            // About 140 MB in the benchmark for 20,000 messages flat out; the bounded queue keeps it from growing with the flood.
            Assert.That(peak, Is.LessThan(400L * 1024 * 1024));
        });
    }

    private static long PeakRssBytes(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024).Single();
}

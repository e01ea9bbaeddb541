using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Tap mode, a graceful stop (SIGTERM, what a restart does) while ImLogger lags behind a flood: Prosody has routed every
/// copy to the component already (the logged user received every message), much of it still in Prosody's buffer and
/// the sockets. ImLogger closes its side of the stream and keeps reading what the server still sends until the server
/// closes its side, so every copy routed before the stop is archived, and the log says how many were drained.
/// </summary>
[TestFixture, NonParallelizable]
public class TapRestartDrillTests
{
    [Test, CancelAfter(240_000)]
    public async Task AGracefulStopUnderLoadArchivesEveryCopyTheServerRoutedBeforeIt()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, """<notifications inside="off" outside="off" />""");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");

        var flood = int.Parse(Environment.GetEnvironmentVariable("DRILL_FLOOD") ?? "10000");
        for (var i = 0; i < flood; i++) await bob.ChatAsync("alice", $"drill-{i}");
        // Each copy is forwarded to the component when the message is delivered: once alice has them all, so has the stream.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (alice.ReceivedDrillBodies.Count < flood)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"alice received {alice.ReceivedDrillBodies.Count} of {flood}");
            await Task.Delay(20);
        }
        var spooledBeforeStop = imlogger.Lines.Select(l => Regex.Match(l, @"\((\d+) since start\)")).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(90)), Is.Zero);

        var archived = world.Archived().SelectMany(m => Regex.Matches(m.TextBody ?? "", @"drill-\d+").Select(x => x.Value)).ToHashSet();
        var drained = imlogger.Lines.SingleOrDefault(l => l.Contains("Drained", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"{spooledBeforeStop} spooled when the stop began; {archived.Count} of {flood} archived; {drained}");
        Assert.That(archived, Has.Count.EqualTo(flood), $"every copy routed before the stop is archived ({flood - archived.Count} lost)");
        Assert.That(drained, Does.Contain("INFO").And.Contain("the server closed its side of the stream"), "the log tells the operator the drain was complete");
    }

    /// <summary>
    /// The measurement behind the README's figure for a restart under steady load (run on demand: it takes a minute). Every
    /// logged message delivered while no component is connected is lost in tap mode; this counts them, and checks that
    /// nothing else is (each lost message is one Prosody bounced).
    /// </summary>
    [Test, Explicit("a measurement: run it by name"), CancelAfter(240_000)]
    public async Task ARestartUnderSteadyLoadLosesOnlyWhatIsDeliveredWhileNoComponentIsConnected()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, """<notifications inside="off" outside="off" />""");
        var first = world.RunImLogger("imlogger-1");
        await ImLoggerProcess.WaitConnectedAsync(first);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");

        var sent = 0;
        using var stop = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await bob.ChatAsync("alice", $"drill-{sent}");
                sent++;
                if (sent % 10 == 0) await Task.Delay(20); // about 400 messages a second
            }
        });
        await Task.Delay(3000);
        var stopAt = DateTime.UtcNow;
        Assert.That(await first.TerminateAsync(TimeSpan.FromSeconds(90)), Is.Zero);
        await first.DisposeAsync();
        await using var second = world.RunImLogger("imlogger-2");
        await ImLoggerProcess.WaitConnectedAsync(second);
        var gap = DateTime.UtcNow - stopAt;
        await Task.Delay(3000);
        await stop.CancelAsync();
        await sending;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (alice.ReceivedDrillBodies.Count < sent && DateTime.UtcNow < deadline) await Task.Delay(50);
        await ImLoggerProcess.WaitSpooledAsync(second, 1);
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(90)), Is.Zero);

        var archived = world.Archived().SelectMany(m => Regex.Matches(m.TextBody ?? "", @"drill-\d+").Select(x => x.Value)).ToHashSet();
        var bounced = Regex.Matches(world.Prosody.Log, "Component not connected, bouncing error").Count;
        var lost = alice.ReceivedDrillBodies.Count(b => !archived.Contains(b));
        TestContext.Out.WriteLine($"sent {sent}, delivered {alice.ReceivedDrillBodies.Count}, archived {archived.Count}, lost {lost}; " +
                                  $"Prosody bounced {bounced} copies; stop to reconnect {gap.TotalSeconds:0.0} s; " +
                                  $"{first.Lines.FirstOrDefault(l => l.Contains("Drained", StringComparison.Ordinal))}");
        Assert.That(lost, Is.LessThanOrEqualTo(bounced), "only what Prosody could not hand to a component is lost");
    }
}

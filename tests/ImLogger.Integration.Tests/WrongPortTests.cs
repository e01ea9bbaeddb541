using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The component pointed at real Prosody's client (c2s) port: an ERROR naming the port and what to set, on every
/// attempt, and retried like a server that is down: the fix may be Prosody's (its component_ports and a restart), and a
/// service that stopped would not see it (the systemd unit does not restart exit code 2).</summary>
[TestFixture]
public class WrongPortTests
{
    [Test, CancelAfter(120_000)]
    public async Task ProsodysClientPortIsNamedAsSuchAndRetried()
    {
        await using var world = await TapDeployment.StartAsync();
        world.WriteConfig(world.Prosody.C2sPort, "1h", ["alice"]);
        await using var imlogger = world.RunImLogger();
        await imlogger.WaitForLineAsync(l => l.Contains("is not a component port; retrying", StringComparison.Ordinal) && l.Contains("attempt 2", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the second retry");
        Assert.That(imlogger.HasExited, Is.False, imlogger.Output);
        var errors = imlogger.Lines.Where(l => l.Contains(" ERROR ", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(errors, Has.Count.GreaterThanOrEqualTo(2), imlogger.Output);
            Assert.That(errors, Has.All.Contain($"port {world.Prosody.C2sPort} is Prosody's client (c2s) port, not its component port")
                .And.Contain("component_ports (5347 by default)").And.Not.Contain("unknown"));
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, imlogger.Output);
    }
}

using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The component pointed at real Prosody's client (c2s) port: one line naming the port and what to set, and exit
/// code 2, which the systemd unit does not restart (RestartPreventExitStatus), since only the config can fix it.</summary>
[TestFixture]
public class WrongPortTests
{
    [Test, CancelAfter(120_000)]
    public async Task ProsodysClientPortIsNamedAsSuch()
    {
        await using var world = await TapDeployment.StartAsync();
        world.WriteConfig(world.Prosody.C2sPort, "1h", ["alice"]);
        await using var imlogger = world.RunImLogger();
        var code = await imlogger.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2), imlogger.Output);
            var errors = imlogger.Lines.Where(l => l.Contains(" ERROR ", StringComparison.Ordinal)).ToList();
            Assert.That(errors, Has.Count.EqualTo(1), imlogger.Output);
            Assert.That(errors.FirstOrDefault(), Does.Contain($"port {world.Prosody.C2sPort} is Prosody's client (c2s) port, not its component port")
                .And.Contain("component_ports (5347 by default)").And.Not.Contain("unknown"));
        });
    }
}

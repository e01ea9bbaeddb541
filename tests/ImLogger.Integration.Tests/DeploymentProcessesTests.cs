using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The test world owns the imlogger processes started in it: a test that ends early (a failed assertion before its
/// own stop) leaves none running beside the rest of the suite, where it would hold a port, a spool and a core.</summary>
[TestFixture]
public class DeploymentProcessesTests
{
    [Test, CancelAfter(120_000)]
    public async Task AnImLoggerTheTestNeverStopped_IsStoppedWithItsWorld()
    {
        int first, second;
        await using (var world = await TapDeployment.StartAsync())
        {
            // Neither is disposed here, as when an assertion ends a test before its TerminateAsync.
            var imlogger = world.RunImLogger("imlogger-owned");
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            first = imlogger.Id;
            second = world.Own(ImLoggerProcess.Run(world.ConfigPath, TapDeployment.Secret, "imlogger-owned-2")).Id;
            Assert.That(Running(first) && Running(second), Is.True, "both run until the world is disposed");
        }
        Assert.Multiple(() =>
        {
            Assert.That(Running(first), Is.False, "the imlogger started with RunImLogger is stopped with its world");
            Assert.That(Running(second), Is.False, "the imlogger handed to Own is stopped with its world");
        });
    }

    /// <summary>The pid runs imlogger (a pid reused since by something else does not count).</summary>
    private static bool Running(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(Path.GetFileName(Paths.ImLoggerDll), StringComparison.Ordinal)
                && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].Equals("Z", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}

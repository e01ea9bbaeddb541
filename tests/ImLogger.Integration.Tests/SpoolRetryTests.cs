using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary><c>imlogger spool retry</c> after an endpoint is fixed: waiting deliveries (not only dead letters) go at once,
/// through the running service's control socket, with no secret, instead of at a slot that had backed off to minutes.</summary>
[TestFixture]
public class SpoolRetryTests
{
    [Test, CancelAfter(180_000)]
    public async Task WaitingDeliveriesGoAtOnceThroughTheRunningService()
    {
        using var world = new SmtpWorld();
        // Nothing listens on the component port: the service waits for its server, the dispatcher and control socket run.
        world.WriteConfig("""<directory name="dir" path="archive" />""", "dir", componentPort: Paths.FreePort());
        var id = world.GroupChat("dir");
        // Ten earlier failures: the next one is retried after the longest delay (10 minutes), past this test's patience.
        for (var i = 0; i < 10; i++) world.Spool.RecordFailure(id, "dir", "archive unwritable", DateTimeOffset.UtcNow.AddHours(1), dead: false);
        var seeded = world.Delivery(id, "dir").Attempts;
        world.CloseSpool();
        File.WriteAllText(world.ArchiveDir, "a file where the archive folder should be");

        var stopped = await SpoolAsync(world, "retry", "dir");
        Assert.That(stopped.Code, Is.Zero, stopped.Output);
        Assert.That(stopped.Output, Does.Contain("0 dead deliveries to 'dir' back to pending; 1 waiting delivery due now in the spool (1 had a later slot): " +
                                                 "tried first when `imlogger run` starts"));
        // Stopped, it made the delivery due in the file itself (the slot an hour away is gone), attempts kept.
        var shown = await SpoolAsync(world, "show", id);
        Assert.That(shown.Output, Does.Contain($"{seeded} attempt(s)").And.Not.Contain($"{seeded} attempt(s), next"), shown.Output);

        await using var service = ImLoggerProcess.Start("imlogger", new Dictionary<string, string> { [ImLoggerProcess.SecretVariable] = "component-secret" },
            "run", "--config", world.ConfigPath, "--log-config", Paths.NLogConfig);
        await UntilAsync(() => Task.FromResult(File.Exists(world.SpoolPath + ".sock")), "control socket", service);
        // The start tries it at once (and fails: the archive is still a file); then it waits for its slot.
        await UntilAsync(async () => (await SpoolAsync(world, "show", id)).Output.Contains($"{seeded + 1} attempt(s)", StringComparison.Ordinal),
            "the start's attempt recorded", service);
        File.Delete(world.ArchiveDir);

        // Through the control socket: an operator's shell, no secret in the environment.
        var retry = await SpoolAsync(world, "retry");
        Assert.That(retry.Code, Is.Zero, retry.Output);
        Assert.That(retry.Output, Does.Contain("0 dead deliveries to 'dir' back to pending; 1 waiting delivery tried now")
            .And.Contain("the running service is delivering them now"));
        await UntilAsync(() => Task.FromResult(Directory.Exists(world.ArchiveDir) && Directory.GetFiles(world.ArchiveDir, "*.eml").Length == 1),
            "the transcript delivered at once, not at its 10-minute slot", service);
        var status = await SpoolAsync(world, "status");
        Assert.That(status.Output, Does.Match(@"dir\s+0\s+0\s"), status.Output);
        Assert.That(await service.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero, service.Output);
    }

    [Test, CancelAfter(120_000)]
    public async Task RetryOfAnUnknownEndpointIsAUsageError()
    {
        using var world = new SmtpWorld();
        world.WriteConfig("""<directory name="dir" path="archive" />""", "dir", componentPort: Paths.FreePort());
        var (code, output) = await SpoolAsync(world, "retry", "nosuch");
        Assert.That(code, Is.EqualTo(64), output);
        Assert.That(output, Does.Contain("no endpoint 'nosuch'").And.Contain("spool status"));
        (code, output) = await SpoolAsync(world, "retry");
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("nothing waits for delivery"));
    }

    private static async Task<(int Code, string Output)> SpoolAsync(SmtpWorld world, params string[] words)
    {
        await using var p = ImLoggerProcess.Start("spool", new Dictionary<string, string>(), ["spool", .. words, "--config", world.ConfigPath]);
        return (await p.WaitForExitAsync(TimeSpan.FromSeconds(60)), p.Output);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, ProcessRunner service)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"no {what} within 60 s:\n{service.Output}");
            await Task.Delay(250);
        }
    }
}

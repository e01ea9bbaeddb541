using System.Diagnostics;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The spool's disk fills up under load (a small tmpfs mounted for the test, so the rest of the machine is not
/// touched). Tap mode cannot refuse traffic (the copies are already delivered), so what it must do is: never
/// acknowledge what it could not store, stop reading from the server while the spool cannot write (the server
/// buffers the copies), say so, and once space is back, store everything it held and deliver each message once.
/// </summary>
[TestFixture, NonParallelizable]
public class DiskFullDrillTests
{
    [Test, CancelAfter(240_000)]
    public async Task SpoolDiskFullHoldsTheLineAndRecoversWithoutLosingOrDuplicating()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, """<notifications inside="off" outside="off" />""");
        var volume = await MountSpoolVolumeAsync(world);
        try
        {
            await using var imlogger = world.RunImLogger();
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
            await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
            await SendAsync(alice, 0, 20);
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 20);

            // Leave about 200 KB free, then send about 1 MB of messages.
            await FillAsync(volume, leave: 200 * 1024);
            await SendAsync(alice, 20, 480);
            await imlogger.WaitForLineAsync(l => l.Contains("Cannot write", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the spool reporting that it cannot write");
            Assert.That(imlogger.HasExited, Is.False, "a full disk must not take the component down");

            // The disk stays full for a few retries (writes and LiteDB's rollbacks fail), then space comes back.
            await Task.Delay(4000);
            File.Delete(Path.Combine(volume, "filler"));
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 500);
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

            var bodies = ArchivedDrillBodies(world);
            Assert.Multiple(() =>
            {
                Assert.That(bodies.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "archived twice");
                Assert.That(bodies.Distinct().Count(), Is.EqualTo(500), "every message the server handed over while the disk was full was held and stored");
            });
        }
        finally
        {
            await RunAsync("umount", "-l", volume);
        }
    }

    /// <summary>Inline, fail-closed: while the spool cannot write, no verdict goes out, so the adapter refuses alice's
    /// messages on its timeout instead of delivering them unlogged; once space is back, traffic flows and is archived.</summary>
    [Test, CancelAfter(240_000)]
    public async Task InlineFailClosedRefusesWhatItCannotStoreAndRecovers()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, """<notifications inside="off" outside="off" />""",
            attach: """<attach mode="inline" failure-mode="closed" timeout="3s" />""");
        var volume = await MountSpoolVolumeAsync(world);
        try
        {
            await using var imlogger = world.RunImLogger();
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
            await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
            await SendAsync(alice, 0, 20);
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 20);

            await FillAsync(volume, leave: 200 * 1024);
            await SendAsync(alice, 20, 480);
            await imlogger.WaitForLineAsync(l => l.Contains("Cannot write", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the spool reporting that it cannot write");
            await Task.Delay(5000); // longer than the adapter's timeout: what was held is refused by now
            var deliveredWhileFull = bob.ReceivedDrillBodies;
            File.Delete(Path.Combine(volume, "filler"));
            // The component catches up with what it read while the disk was full (refused by now, but read)...
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 500);

            // ... and new messages are stored and delivered again.
            await SendAsync(alice, 500, 20);
            await WaitUntilAsync(() => bob.ReceivedDrillBodies.Contains("drill-519"), TimeSpan.FromSeconds(60), () => $"traffic did not resume after space came back:\n{imlogger.Output}");
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

            var refused = RefusedDrillBodies(world);
            var archived = ArchivedDrillBodies(world);
            var delivered = bob.ReceivedDrillBodies;
            TestContext.Out.WriteLine($"delivered {delivered.Count} ({deliveredWhileFull.Count} by the time the disk had been full for 5 s), archived {archived.Count}, marked refused {refused.Count}");
            Assert.Multiple(() =>
            {
                Assert.That(delivered.Except(archived), Is.Empty, "nothing was delivered that is not archived");
                Assert.That(deliveredWhileFull, Has.Count.LessThan(500), "while the spool could not write, messages were refused, not delivered");
                Assert.That(archived.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "archived twice");
                Assert.That(refused.Intersect(delivered), Is.Empty, "nothing delivered is marked as refused");
                Assert.That(archived.Except(delivered).Except(refused), Is.Empty,
                    "every message archived but never delivered (the server refused it on its timeout) is marked NOT DELIVERED in the transcript");
            });
        }
        finally
        {
            await RunAsync("umount", "-l", volume);
        }
    }

    /// <summary>The "drill-N" bodies the transcripts mark as refused by the server after they were recorded.</summary>
    private static List<string> RefusedDrillBodies(TapDeployment world) =>
        world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n'))
            .Where(l => l.Contains("REFUSED, not delivered", StringComparison.Ordinal) && l.Contains("NOT DELIVERED: the server refused it", StringComparison.Ordinal))
            .SelectMany(l => System.Text.RegularExpressions.Regex.Matches(l, @"drill-\d+").Select(x => x.Value)).ToList();

    /// <summary>A 16 MB tmpfs under the test's folder, with the config's spool moved onto it.</summary>
    private static async Task<string> MountSpoolVolumeAsync(TapDeployment world)
    {
        var volume = Path.Combine(world.Dir, "spool-volume");
        Directory.CreateDirectory(volume);
        if (Environment.UserName != "root")
            Assert.Ignore("mounting a tmpfs for the spool needs root (CI and ./imlogger.sh test run as root)");
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", volume);
        File.WriteAllText(world.ConfigPath, File.ReadAllText(world.ConfigPath).Replace("path=\"spool.db\"", "path=\"spool-volume/spool.db\"", StringComparison.Ordinal));
        return volume;
    }

    /// <summary>Every "drill-N" body recorded in the archived transcripts, repeats included (not the refusal lines that quote them).</summary>
    private static List<string> ArchivedDrillBodies(TapDeployment world) =>
        world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n'))
            .Where(l => !l.Contains("REFUSED, not delivered", StringComparison.Ordinal))
            .SelectMany(l => System.Text.RegularExpressions.Regex.Matches(l, @"drill-\d+").Select(x => x.Value)).ToList();

    private static async Task FillAsync(string volume, long leave)
    {
        var free = new DriveInfo(volume).AvailableFreeSpace;
        await using var filler = new FileStream(Path.Combine(volume, "filler"), FileMode.CreateNew);
        var block = new byte[64 * 1024];
        for (var left = free - leave; left > 0; left -= block.Length)
            await filler.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, left)));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> explain)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(explain());
            await Task.Delay(200);
        }
    }

    private static async Task SendAsync(RawXmppClient alice, int first, int count)
    {
        // About 2 KB per message once spooled (raw XML, text and indexes), so 480 of them need about 1 MB.
        var padding = new string('x', 1000);
        for (var i = first; i < first + count; i++)
            await alice.ChatAsync("bob", $"drill-{i} {padding}");
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) Assert.Ignore($"cannot {file} a tmpfs for the spool here ({error.Trim()}): the disk-full drill needs it");
    }
}

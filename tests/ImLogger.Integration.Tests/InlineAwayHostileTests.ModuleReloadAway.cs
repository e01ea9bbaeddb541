using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

public partial class InlineAwayHostileTests
{
    /// <summary>
    /// Two reloads in a row while ImLogger is stopped (SIGSTOP): the second instance's request of reports alone is still
    /// unanswered when it goes, so the third carries the same report again. ImLogger reads both and marks drill-2 once.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task TwoModuleReloadsInARowMarkTheRefusalOnce()
    {
        await Drill2ThroughAsync(async (world, alice) =>
        {
            await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
            await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent");
            Assert.That(Regex.Matches(world.Prosody.Log, "Carried over from the previous instance: 1 refusal report").Count, Is.EqualTo(2),
                "each new instance took the report");
        });
    }

    /// <summary>
    /// A reload while ImLogger is away (terminated: the component is not connected), a stanza waiting for it: the stanza
    /// is refused at once, not after the timeout, and the new instance's request of the carried report, bounced, is
    /// kept until ImLogger connects again: one request, no loop of bounces, and nothing lost or delivered twice after.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AModuleReloadWhileImLoggerIsAwayRefusesAtOnceAndDoesNotLoop()
    {
        await using var world = await StartWithShellAsync(NoNotices);
        var first = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(first);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await alice.ChatAsync("bob", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.ContainsKey("drill-1"), TimeSpan.FromSeconds(30), () => "drill-1 not delivered");
        Assert.That(await first.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        await world.Prosody.WaitForLogAsync("ImLogger is not connected", TimeSpan.FromSeconds(10));

        await alice.ChatAsync("bob", "drill-2");
        await world.Prosody.WaitForLogAsync("(probe)", TimeSpan.FromSeconds(10));
        await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
        await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(5), () => "drill-2 was not refused at the reload");
        int Sent() => world.Prosody.Log.Split("Sent request ").Length;
        var afterReload = Sent();
        await Task.Delay(3000);
        Assert.That(Sent() - afterReload, Is.Zero, "nothing more is sent while ImLogger is away and nothing waits");

        await using var second = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(second);
        await alice.ChatAsync("bob", "drill-3");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.ContainsKey("drill-3"), TimeSpan.FromSeconds(30), () => "drill-3 not delivered once ImLogger was back");
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(bob.DrillBodyCounts.Keys, Is.EquivalentTo(new[] { "drill-1", "drill-3" }), "drill-2 never reached bob");
            Assert.That(alice.ErrorMessages, Is.EqualTo(1), "alice was told about drill-2, and only drill-2");
            Assert.That(ArchivedBodies(world), Is.EquivalentTo(new[] { "drill-1", "drill-3" }), "what was delivered is archived, drill-2 is not");
        });
    }
}

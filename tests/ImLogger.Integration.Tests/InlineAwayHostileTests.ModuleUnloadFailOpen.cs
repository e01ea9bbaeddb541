using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

public partial class InlineAwayHostileTests
{
    /// <summary>
    /// Fail-open, with the in-flight-only linger: alice writes to carol, both logged, while ImLogger is stopped
    /// (SIGSTOP), and the module is unloaded (then loaded again). Settling, the instance lets alice's message through
    /// unlogged (fail-open, a gap), and carol's side of it is held again for her; with nothing in flight that hold sent a
    /// request at once, one the settling had not collected: nobody would ever answer or refuse it, and the message was
    /// lost without a word to anyone (a reload settles twice, in save and unload, which hid it; a server stop settles once,
    /// as an unload does). Now what is held while the instance goes waits and is refused with the rest: alice is told.
    /// The gap goes to ImLogger too.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AModuleUnloadFailOpenLosesNothingHeldAgainWhileSettling()
    {
        await using var world = await StartWithShellAsync(NoNotices, ["alice", "carol"], """<attach mode="inline" failure-mode="open" timeout="60s" />""",
            "\timlogger_linger_in_flight_only = true\n");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var carol = await RawXmppClient.LoginAsync(world.Prosody, "carol");
        await alice.ChatAsync("carol", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => carol.DrillBodyCounts.ContainsKey("drill-1"), TimeSpan.FromSeconds(30), () => "drill-1 not delivered");

        await SendWhileImLoggerIsStoppedAsync(world.Prosody, imlogger, alice, "carol", "drill-2", async () =>
        {
            await world.Prosody.ShellAsync("module", "unload", "imlogger_inline", "example.test");
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages + carol.DrillBodyCounts.GetValueOrDefault("drill-2") >= 1, TimeSpan.FromSeconds(10),
                () => "drill-2 was neither delivered to carol nor refused to alice");
            await world.Prosody.ShellAsync("module", "load", "imlogger_inline", "example.test");
        });
        await imlogger.WaitForLineAsync(l => l.Contains("GAP: 1 stanza(s) of alice@example.test passed UNLOGGED", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            "the gap reported");
        await alice.ChatAsync("carol", "drill-3");
        await InlineRestartDrillTests.WaitUntilAsync(() => carol.DrillBodyCounts.ContainsKey("drill-3"), TimeSpan.FromSeconds(30), () => "drill-3 not delivered after the load");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(alice.ErrorMessages, Is.EqualTo(1), "alice was told that carol's side of drill-2 was refused");
            Assert.That(carol.DrillBodyCounts.Keys, Is.EquivalentTo(new[] { "drill-1", "drill-3" }));
        });
    }
}

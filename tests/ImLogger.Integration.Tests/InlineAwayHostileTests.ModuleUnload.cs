using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

public partial class InlineAwayHostileTests
{
    /// <summary>
    /// As <see cref="AModuleReloadRefusesWhatWasHeldAtOnceAndTheNewInstanceReportsTheRefusal"/>, but the operator unloads
    /// the module and loads it again (<c>module unload</c>, then <c>module load</c>): no save and restore carries the
    /// refusal report from one to the other, and before the fix it was lost, so the archive showed drill-2, which ImLogger
    /// stored from a request nobody received the answer to, as delivered. Now the unload sends the report itself.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AModuleUnloadThenLoadStillHasTheRefusalMarkedInTheArchive()
    {
        await using var world = await StartWithShellAsync(NoNotices);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await alice.ChatAsync("bob", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.ContainsKey("drill-1"), TimeSpan.FromSeconds(30), () => "drill-1 not delivered");

        imlogger.Suspend();
        try
        {
            int Sent() => world.Prosody.Log.Split("Sent request ").Length;
            var before = Sent();
            await alice.ChatAsync("bob", "drill-2");
            await InlineRestartDrillTests.WaitUntilAsync(() => Sent() > before, TimeSpan.FromSeconds(30), () => "drill-2's request was not sent");
            await world.Prosody.ShellAsync("module", "unload", "imlogger_inline", "example.test");
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent");
            await world.Prosody.ShellAsync("module", "load", "imlogger_inline", "example.test");
        }
        finally
        {
            imlogger.Resume();
        }
        await imlogger.WaitForLineAsync(l => l.Contains("are now marked NOT DELIVERED", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            "the refusal made at the unload reported");
        await alice.ChatAsync("bob", "drill-3");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.ContainsKey("drill-3"), TimeSpan.FromSeconds(30), () => "drill-3 not delivered after the load");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n')).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(bob.DrillBodyCounts.Keys, Is.EquivalentTo(new[] { "drill-1", "drill-3" }), "drill-2 never reached bob");
            Assert.That(alice.ErrorMessages, Is.EqualTo(1), "alice was told about drill-2, and only drill-2");
            Assert.That(lines.Count(l => l.Contains("drill-2", StringComparison.Ordinal) && l.Contains("REFUSED, not delivered", StringComparison.Ordinal)), Is.EqualTo(1),
                "the archive marks drill-2 NOT DELIVERED, once:\n" + string.Join('\n', lines));
        });
    }
}

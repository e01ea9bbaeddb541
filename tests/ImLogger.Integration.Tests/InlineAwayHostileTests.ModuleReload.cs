using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

public partial class InlineAwayHostileTests
{
    /// <summary>
    /// An operator upgrades the module and reloads it (<c>prosodyctl shell module reload imlogger_inline example.test</c>)
    /// while stanzas are held: one in a request ImLogger has in its socket but has not answered (it is stopped with
    /// SIGSTOP), others waiting while it is away. The old instance's hooks and timers go with it, so before the fix those
    /// stanzas were neither delivered nor refused: their senders saw nothing, for ever. Now each is refused with the error
    /// at the reload, and the refusal of the request ImLogger may have stored is carried to the new instance, which
    /// reports it: the archive marks that message NOT DELIVERED instead of showing it as said.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AModuleReloadRefusesWhatWasHeldAtOnceAndTheNewInstanceReportsTheRefusal()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, NoNotices, attach: Attach);
        await world.Prosody.StopAsync();
        world.Prosody.EnableModule("admin_shell");
        await world.Prosody.StartAsync();
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
            await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
            // Refused at the reload, not at the 60 s timeout (which the old instance's timers would never reach).
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent");
            await world.Prosody.WaitForLogAsync("Carried over from the previous instance: 1 refusal report(s)", TimeSpan.FromSeconds(10));
        }
        finally
        {
            imlogger.Resume();
        }
        // ImLogger reads drill-2's request (stores it, answers an instance that is gone), then the carried report.
        await imlogger.WaitForLineAsync(l => l.Contains("are now marked NOT DELIVERED", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            "the refusal carried over the reload and reported");
        // The new instance holds and delivers as the old one did.
        await alice.ChatAsync("bob", "drill-3");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.ContainsKey("drill-3"), TimeSpan.FromSeconds(30), () => "drill-3 not delivered after the reload");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n')).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(bob.DrillBodyCounts.Keys, Is.EquivalentTo(new[] { "drill-1", "drill-3" }), "drill-2 never reached bob");
            Assert.That(alice.ErrorMessages, Is.EqualTo(1), "alice was told about drill-2, and only drill-2");
            Assert.That(lines.Count(l => l.Contains("drill-2", StringComparison.Ordinal) && l.Contains("REFUSED, not delivered", StringComparison.Ordinal)), Is.EqualTo(1),
                "the archive marks drill-2 NOT DELIVERED, once:\n" + string.Join('\n', lines));
            Assert.That(lines.Any(l => l.Contains("drill-3", StringComparison.Ordinal) && !l.Contains("REFUSED", StringComparison.Ordinal)), "drill-3 archived as delivered");
        });
    }
}

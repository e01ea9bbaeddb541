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
        await Drill2ThroughAsync(async (world, alice) =>
        {
            await world.Prosody.ShellAsync("module", "unload", "imlogger_inline", "example.test");
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent");
            await world.Prosody.ShellAsync("module", "load", "imlogger_inline", "example.test");
        });
    }

    /// <summary>
    /// An upgrade that fails: the new module's code fails while it loads (<c>module reload</c> unloads the old instance,
    /// then the load fails and restore is never called), and the operator rolls back and loads the old file again. The
    /// refusal reports the old instance handed over in what save returned were lost with the failed instance; they are
    /// kept in the server's memory now, and the instance loaded after the rollback reports them.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AFailedUpgradeRolledBackStillHasTheRefusalMarkedInTheArchive()
    {
        await Drill2ThroughAsync(async (world, alice) =>
        {
            var file = Path.Combine(world.Dir, "tap", "mod_imlogger_inline.lua");
            var good = await File.ReadAllTextAsync(file);
            // Compiles (Prosody checks that before it unloads), fails as soon as it runs.
            await File.WriteAllTextAsync(file, "error(\"a broken upgrade\");\n" + good);
            var (_, text) = await world.Prosody.ShellAnyAsync("module", "reload", "imlogger_inline", "example.test");
            await world.Prosody.WaitForLogAsync("a broken upgrade", TimeSpan.FromSeconds(10));
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent:\n" + text);
            await File.WriteAllTextAsync(file, good);
            await world.Prosody.ShellAsync("module", "load", "imlogger_inline", "example.test");
        });
    }

    /// <summary>
    /// The scenario of the reload and unload tests: a deployment with the admin shell, ImLogger, alice and bob; drill-2's
    /// request left unread in ImLogger's socket while the operator does <paramref name="meanwhile"/>; then drill-2 marked
    /// NOT DELIVERED once and drill-3 delivered (<see cref="AssertDrill2MarkedAndDrill3DeliveredAsync"/>).
    /// </summary>
    private static async Task Drill2ThroughAsync(Func<TapDeployment, RawXmppClient, Task> meanwhile)
    {
        await using var world = await StartWithShellAsync(NoNotices);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await SendDrill2WhileImLoggerIsStoppedAsync(world, imlogger, alice, bob, () => meanwhile(world, alice));
        await AssertDrill2MarkedAndDrill3DeliveredAsync(world, imlogger, alice, bob);
    }

    /// <summary>
    /// drill-1 delivered; then, ImLogger stopped (SIGSTOP), drill-2 sent and its request written to ImLogger's socket,
    /// and <paramref name="meanwhile"/> done before ImLogger goes on (it then stores drill-2, answering nobody).
    /// </summary>
    private static async Task SendDrill2WhileImLoggerIsStoppedAsync(TapDeployment world, ProcessRunner imlogger, RawXmppClient alice, RawXmppClient bob, Func<Task> meanwhile)
    {
        await alice.ChatAsync("bob", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.ContainsKey("drill-1"), TimeSpan.FromSeconds(30), () => "drill-1 not delivered");
        await SendWhileImLoggerIsStoppedAsync(world.Prosody, imlogger, alice, "bob", "drill-2", meanwhile);
    }

    /// <summary>
    /// ImLogger stopped (SIGSTOP); <paramref name="sender"/>'s <paramref name="body"/> to <paramref name="to"/> sent and its
    /// verdict request written to ImLogger's socket (Prosody's debug log says so); <paramref name="meanwhile"/> done; then
    /// ImLogger goes on, whatever happened.
    /// </summary>
    internal static async Task SendWhileImLoggerIsStoppedAsync(ProsodyServer prosody, ProcessRunner imlogger, RawXmppClient sender, string to, string body,
        Func<Task> meanwhile)
    {
        imlogger.Suspend();
        try
        {
            int Sent() => prosody.Log.Split("Sent request ").Length;
            var before = Sent();
            await sender.ChatAsync(to, body);
            await InlineRestartDrillTests.WaitUntilAsync(() => Sent() > before, TimeSpan.FromSeconds(30), () => $"{body}'s request was not sent");
            await meanwhile();
        }
        finally
        {
            imlogger.Resume();
        }
    }

    /// <summary>ImLogger marks drill-2 NOT DELIVERED from the report, once; the module loaded then holds and delivers drill-3.</summary>
    private static async Task AssertDrill2MarkedAndDrill3DeliveredAsync(TapDeployment world, ProcessRunner imlogger, RawXmppClient alice, RawXmppClient bob)
    {
        await imlogger.WaitForLineAsync(l => l.Contains("are now marked NOT DELIVERED", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            "the refusal made as the module went reported");
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
            Assert.That(lines.Any(l => l.Contains("drill-3", StringComparison.Ordinal) && !l.Contains("REFUSED", StringComparison.Ordinal)), "drill-3 archived as delivered");
        });
    }
}

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
        await Drill2ThroughAsync(async (world, alice) =>
        {
            await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
            // Refused at the reload, not at the 60 s timeout (which the old instance's timers would never reach).
            await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent");
            await world.Prosody.WaitForLogAsync("Carried over from the previous instance: 1 refusal report(s)", TimeSpan.FromSeconds(10));
        });
        // ImLogger read drill-2's request (stored it, answered an instance that is gone), then the carried report; the new
        // instance held and delivered drill-3 as the old one did (Drill2ThroughAsync's checks).
    }
}

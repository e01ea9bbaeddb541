using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

public partial class InlineAwayHostileTests
{
    /// <summary>
    /// Another module with a bug raises while a stanza the settling lets through (fail-open) is routed. The error went up
    /// through the settling and stopped it: what waited after that stanza (carol's drill-2, lingering) was neither sent
    /// nor refused, and the unload went on without it (a reload's save would have failed instead, and Prosody kept the
    /// instance settled half-way). Now one stanza's error is logged and the rest is settled: carol is told.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AModuleUnloadSettlesEverythingWhenRoutingOneStanzaRaises()
    {
        await using var world = await StartWithShellAsync(NoNotices, ["alice", "carol"], """<attach mode="inline" failure-mode="open" timeout="60s" />""",
            "\timlogger_linger = 5\n", w =>
            {
                File.WriteAllText(Path.Combine(w.Dir, "tap", "mod_imlogger_test_raise.lua"), """
                    -- A module with a bug: it raises on a message whose body starts with drill-boom.
                    module:hook("message/bare", function (event)
                        local body = event.stanza:get_child_text("body");
                        if body and body:find("^drill%-boom") then error("a module that raises on drill-boom"); end
                    end, 5000);
                    """);
                w.Prosody.EnableModule("imlogger_test_raise");
            });
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var carol = await RawXmppClient.LoginAsync(world.Prosody, "carol");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");

        await SendWhileImLoggerIsStoppedAsync(world.Prosody, imlogger, alice, "bob", "drill-boom", async () =>
        {
            // drill-2 lingers (5 s) when the module goes: it waits, never sent.
            await carol.ChatAsync("bob", "drill-2");
            await world.Prosody.ShellAsync("module", "unload", "imlogger_inline", "example.test");
            await InlineRestartDrillTests.WaitUntilAsync(() => carol.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "carol was not told drill-2 was not sent");
            await world.Prosody.WaitForLogAsync("a module that raises on drill-boom", TimeSpan.FromSeconds(5));
        });
        Assert.Multiple(() =>
        {
            Assert.That(bob.DrillBodyCounts.Keys, Is.Empty, "drill-2 refused");
            Assert.That(carol.ErrorMessages, Is.EqualTo(1), "carol was told once");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }
}

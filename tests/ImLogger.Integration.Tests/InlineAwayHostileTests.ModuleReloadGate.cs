using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

public partial class InlineAwayHostileTests
{
    private const string ApprovedSlixmpp = """<approved-clients answer-within="2s"><client name="Slixmpp" min-version="1.8" /></approved-clients>""";

    /// <summary>
    /// Approved clients: alice signs in with a client ImLogger has not judged yet (it is stopped with SIGSTOP), and bob
    /// writes to that session meanwhile, which keeps his message for it. The module is reloaded: alice's session is
    /// closed (the new instance knows nothing of the check), and bob's message, posted again when the session goes, had
    /// been posted by a timer of the old instance, which Prosody never runs once the module is unloaded: bob's message
    /// was neither delivered nor refused. Now it is posted at once, held, and refused with the error bob sees. What alice
    /// sent meanwhile (drill-7) was dropped with only the close to show for it; now it is refused with the error first.
    /// </summary>
    [Test, CancelAfter(150_000)]
    public async Task AModuleReloadDuringASignInCheckClosesTheSessionAndRefusesWhatWasSentToIt()
    {
        await using var world = await StartWithShellAsync(NoNotices + ApprovedSlixmpp);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");

        imlogger.Suspend();
        try
        {
            // A raw client never answers the version question: the session stays unjudged.
            await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
            await world.Prosody.WaitForLogAsync("Asked the client of alice@example.test/raw its version", TimeSpan.FromSeconds(10));
            await bob.SendRawAsync("<message to='alice@example.test/raw' type='chat' id='to-unjudged'><body>drill-5 to the unjudged session</body></message>");
            await alice.ChatAsync("bob", "drill-7");
            await Task.Delay(500);
            Assert.That(alice.DrillBodyCounts, Is.Empty, "nothing reaches a session before its client is judged");

            await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
            await world.Prosody.WaitForLogAsync("Closing alice@example.test/raw (module reloaded)", TimeSpan.FromSeconds(10));
            await InlineRestartDrillTests.WaitUntilAsync(() => bob.ErrorMessages >= 1, TimeSpan.FromSeconds(10),
                () => "bob was not told that drill-5 was not delivered");
            // The closed session cannot speak through the new instance, which never judged it.
            try { await alice.ChatAsync("bob", "drill-6"); } catch (IOException) { }
            await Task.Delay(1000);
            Assert.Multiple(() =>
            {
                Assert.That(alice.DrillBodyCounts, Is.Empty, "drill-5 never reached the unjudged session");
                Assert.That(bob.DrillBodyCounts, Is.Empty, "nothing of the unjudged session reached bob");
                Assert.That(bob.ErrorMessages, Is.EqualTo(1), "bob was told once");
                Assert.That(alice.ErrorMessages, Is.EqualTo(1), "alice's client was told drill-7 was not sent (before the close)");
            });
        }
        finally
        {
            imlogger.Resume();
        }
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }

    /// <summary>
    /// A deployment whose Prosody has the admin shell (<c>prosodyctl shell</c>), for module reloads and unloads;
    /// <paramref name="moduleOptions"/>: lines added to the module's options; <paramref name="beforeStart"/>: more of Prosody's setup.
    /// </summary>
    private static async Task<TapDeployment> StartWithShellAsync(string organizationXml, string[]? logged = null, string attach = Attach, string moduleOptions = "",
        Action<TapDeployment>? beforeStart = null)
    {
        var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged ?? ["alice"], null, organizationXml, attach: attach);
        try
        {
            var snippet = Path.Combine(world.Dir, "tap", "imlogger.cfg.lua");
            var lua = await File.ReadAllTextAsync(snippet);
            await File.WriteAllTextAsync(snippet, System.Text.RegularExpressions.Regex.Replace(lua, @"(\timlogger_timeout = [^\n]*\n)", "$1" + moduleOptions));
            await world.Prosody.StopAsync();
            world.Prosody.EnableModule("admin_shell");
            beforeStart?.Invoke(world);
            await world.Prosody.StartAsync();
            return world;
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }
    }
}

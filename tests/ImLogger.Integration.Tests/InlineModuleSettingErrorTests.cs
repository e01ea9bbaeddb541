using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A careless operator edits the module's settings by hand. Prosody 0.12 runs on without a module that fails to load,
/// so a setting the module refused with error() at load used to leave every logged user's stanza unheld: delivered, and
/// archived by nobody. Now the module logs what is wrong and holds all the same, with the setting that refuses rather
/// than lets through. Real Prosody, the real binary, raw clients.
/// </summary>
[TestFixture]
public class InlineModuleSettingErrorTests
{
    private const string Attach = """<attach mode="inline" failure-mode="closed" timeout="2s" />""";

    private static Action<IXmppServer> EditSnippet(string pattern, string replacement) => server =>
    {
        var snippet = ((ProsodyServer)server).Include!;
        var lua = File.ReadAllText(snippet);
        var edited = Regex.Replace(lua, pattern, replacement);
        Assert.That(edited, Is.Not.EqualTo(lua), $"the snippet has no line matching {pattern}:\n{lua}");
        File.WriteAllText(snippet, edited);
    };

    [Test, CancelAfter(90_000)]
    public async Task WithoutImLoggerComponentTheModuleStillHoldsAndRefusesInsteadOfLettingMessagesThroughUnlogged()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach,
            beforeStart: EditSnippet(@"\timlogger_component = [^\n]*\n", ""));
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await alice.ChatAsync("bob", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(30), () => "alice was not told drill-1 was not sent");
        await Task.Delay(500);
        Assert.Multiple(() =>
        {
            Assert.That(world.Prosody.Log, Does.Contain("imlogger_component is not set"), "the log says what to fix");
            Assert.That(bob.DrillBodyCounts.Keys, Does.Not.Contain("drill-1"), "nothing of a logged user passes unheld");
        });
    }

    [Test, CancelAfter(90_000)]
    public async Task AMistypedFailureModeIsReadAsClosedAndTheModuleStillHolds()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach,
            beforeStart: EditSnippet(@"\timlogger_failure_mode = [^\n]*\n", "\timlogger_failure_mode = \"clossed\"\n"));
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        // ImLogger is not running: closed holds and refuses at the timeout; open (or no module) would deliver at once.
        await alice.ChatAsync("bob", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(30), () => "alice was not told drill-1 was not sent");
        await Task.Delay(500);
        Assert.Multiple(() =>
        {
            Assert.That(world.Prosody.Log, Does.Contain("imlogger_failure_mode must be \"closed\" or \"open\""), "the log says what to fix");
            Assert.That(bob.DrillBodyCounts.Keys, Does.Not.Contain("drill-1"), "refused, not delivered unlogged");
        });
    }
}

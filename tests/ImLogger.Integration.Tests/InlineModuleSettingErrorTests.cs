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
        await AssertDrill1RefusedAndLoggedAsync(world, "imlogger_component is not set");
    }

    [Test, CancelAfter(90_000)]
    public async Task AMistypedFailureModeIsReadAsClosedAndTheModuleStillHolds()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach,
            beforeStart: EditSnippet(@"\timlogger_failure_mode = [^\n]*\n", "\timlogger_failure_mode = \"clossed\"\n"));
        // ImLogger is not running: closed holds and refuses at the timeout; open (or no module) would deliver at once.
        await AssertDrill1RefusedAndLoggedAsync(world, "imlogger_failure_mode must be \"closed\" or \"open\"");
    }

    /// <summary>alice's drill-1 to bob is refused with an error (held, never answered in time), never delivered, and
    /// Prosody's log says what to fix (<paramref name="logged"/>).</summary>
    private static async Task AssertDrill1RefusedAndLoggedAsync(TapDeployment world, string logged)
    {
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await alice.ChatAsync("bob", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(30), () => "alice was not told drill-1 was not sent");
        await Task.Delay(500);
        Assert.Multiple(() =>
        {
            Assert.That(world.Prosody.Log, Does.Contain(logged), "the log says what to fix");
            Assert.That(bob.DrillBodyCounts.Keys, Does.Not.Contain("drill-1"), "nothing of a logged user passes unheld");
        });
    }

    /// <summary>A switch that widens what is held, written neither true nor false: Prosody reads it as absent (false), so
    /// an organization logged by default passed unheld. Now read as true, and the log says what to write.</summary>
    [Test, CancelAfter(90_000)]
    public async Task ALogAllSwitchWrittenYesHoldsEveryoneInsteadOfNobody()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach,
            beforeStart: EditSnippet(@"(\timlogger_timeout = [^\n]*\n)", "$1\timlogger_log_all = \"yes\"\n"));
        await world.Prosody.WaitForLogAsync("Holding the stanzas of", TimeSpan.FromSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(world.Prosody.Log, Does.Contain("imlogger_log_all = yes is neither true nor false: using true"), "the log says what to fix");
            Assert.That(world.Prosody.Log, Does.Contain("Holding the stanzas of every user of example.test"), "everyone held, as the switch meant");
        });
        // bob (not logged) is held too: while ImLogger is away his message waits and is refused at the timeout, not delivered.
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await using var carol = await RawXmppClient.LoginAsync(world.Prosody, "carol");
        await bob.ChatAsync("carol", "drill-1");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.ErrorMessages >= 1, TimeSpan.FromSeconds(30), () => "bob's message was not held");
        Assert.That(carol.DrillBodyCounts.Keys, Does.Not.Contain("drill-1"));
    }
}

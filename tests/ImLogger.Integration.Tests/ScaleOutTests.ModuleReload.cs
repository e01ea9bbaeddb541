using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.InlineRestartDrillTests;

namespace ImLogger.Integration.Tests;

public partial class ScaleOutTests
{
    /// <summary>
    /// Scaled out, a module reload while the second instance is stopped (SIGSTOP) with a request of alice's
    /// conversation with a peer of its share unanswered: the refusal report is carried to the new module instance's lane
    /// of that same ImLogger instance, which marks the message NOT DELIVERED; the first instance, which never stored it,
    /// is not told.
    /// </summary>
    [Test, CancelAfter(200_000)]
    public async Task AModuleReloadReportsTheRefusalToTheInstanceThatStoredIt() =>
        await SecondsShareRefusedAtAReloadAsync(_ => Task.CompletedTask, world => Path.Combine(world.Dir, "second", "archive"),
            "the second instance told of the refusal of what it stored");

    /// <summary>
    /// The operator takes the second instance out of the list (<c>imlogger_components</c>, <c>prosodyctl reload</c>), then
    /// reloads the module while a request of the second instance's share is unanswered (SIGSTOP). The refusal report was
    /// handed to the first lane, whose instance never stored the request and ignores it: the second instance's archive
    /// kept the message as delivered. Now it goes to the second instance, still connected, in a request of its own.
    /// </summary>
    [Test, CancelAfter(200_000)]
    public async Task AModuleReloadWithAnInstanceTakenOutOfTheListStillReportsToIt() =>
        await SecondsShareRefusedAtAReloadAsync(async world =>
        {
            var snippet = Path.Combine(world.Dir, "tap", "imlogger.cfg.lua");
            var lua = await File.ReadAllTextAsync(snippet);
            var one = System.Text.RegularExpressions.Regex.Replace(lua, @"imlogger_components = \{[^}]*\}", $"imlogger_components = {{ \"{First}\" }}");
            Assert.That(one, Is.Not.EqualTo(lua), "the rules list the instances");
            await File.WriteAllTextAsync(snippet, one);
            await ((ProsodyServer)world.Server).ReloadAsync("Config reloaded: holding the stanzas of", TimeSpan.FromSeconds(10));
        }, world => Path.Combine(world.Dir, "archive"), "the instance taken out of the list told of the refusal of what it stored");

    /// <summary>
    /// Scaled out: drill-1 of alice's conversation with a peer of the second instance's share delivered; the second
    /// instance stopped (SIGSTOP) with drill-2's request unanswered; <paramref name="beforeTheReload"/>, then the module
    /// reloaded. The second instance marks drill-2 NOT DELIVERED (<paramref name="told"/>), the first is told nothing,
    /// drill-3 is delivered and archived in <paramref name="drill3Archive"/>.
    /// </summary>
    private static async Task SecondsShareRefusedAtAReloadAsync(Func<TapDeployment, Task> beforeTheReload, Func<TapDeployment, string> drill3Archive, string told)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], $"""<scale-out components="{First} {Second}" />""",
            NoNotices, attach: Attach, seats: 1, beforeStart: s => ((ProsodyServer)s).EnableModule("admin_shell"));
        var peer = new[] { "bob", "carol", "dave", "grace" }.FirstOrDefault(p => Bucket(PairKey(ClientScenario.Jid("alice"), ClientScenario.Jid(p)), 2) == 1);
        Assume.That(peer, Is.Not.Null, "no account of the world in the second instance's share");
        var first = world.RunImLogger("imlogger-1");
        var second = world.Own(ImLoggerProcess.Run(SecondInstance(world), TapDeployment.Secret, "imlogger-2", "Debug"));
        await ImLoggerProcess.WaitConnectedAsync(first);
        await ImLoggerProcess.WaitConnectedAsync(second);
        await using var alice = await RawXmppClient.LoginAsync(world.Server, "alice");
        await using var receiver = await RawXmppClient.LoginAsync(world.Server, peer!);
        await alice.ChatAsync(peer!, "drill-1");
        await WaitUntilAsync(() => receiver.DrillBodyCounts.ContainsKey("drill-1"), TimeSpan.FromSeconds(30), () => "drill-1 not delivered");

        await InlineAwayHostileTests.SendWhileImLoggerIsStoppedAsync(world.Prosody, second, alice, peer!, "drill-2", async () =>
        {
            await beforeTheReload(world);
            await world.Prosody.ShellAsync("module", "reload", "imlogger_inline", "example.test");
            await WaitUntilAsync(() => alice.ErrorMessages >= 1, TimeSpan.FromSeconds(10), () => "alice was not told drill-2 was not sent");
        });
        await second.WaitForLineAsync(l => l.Contains("are now marked NOT DELIVERED", StringComparison.Ordinal), TimeSpan.FromSeconds(30), told);
        await alice.ChatAsync(peer!, "drill-3");
        await WaitUntilAsync(() => receiver.DrillBodyCounts.ContainsKey("drill-3"), TimeSpan.FromSeconds(30), () => "drill-3 not delivered after the reload");
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(await first.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(first.Output, Does.Not.Contain("The server refused"), "the first instance stored none of drill-2 and was told nothing");
            Assert.That(Bodies(Archived(drill3Archive(world))), Does.ContainKey("drill-3"), "drill-3 archived by the instance that has the conversation now");
            Assert.That(receiver.DrillBodyCounts.Keys, Is.EquivalentTo(new[] { "drill-1", "drill-3" }));
        });
    }
}

using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Hostile cases for mod_imlogger_inline while ImLogger is away (issue 16), on real Prosody, raw clients and the real
/// binary: the memory bound reached (the oldest are refused with the error, never dropped in silence), ImLogger back
/// and gone again in the middle of the resend, and a Prosody reload while stanzas wait.
/// </summary>
[TestFixture]
public partial class InlineAwayHostileTests
{
    private const string NoNotices = """<notifications inside="off" outside="off" />""";
    private const string Attach = """<attach mode="inline" failure-mode="closed" timeout="60s" />""";

    private static List<string> ArchivedBodies(TapDeployment world) =>
        world.Archived().SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();

    [Test, CancelAfter(120_000)]
    public async Task OverTheMemoryBoundTheOldestAreRefusedWithTheErrorAndTheRestDeliveredOnceWhenImLoggerIsBack()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, NoNotices, attach: Attach);
        // A small bound: about ten of these messages fit.
        var snippet = Path.Combine(world.Dir, "tap", "imlogger.cfg.lua");
        var lua = await File.ReadAllTextAsync(snippet);
        await File.WriteAllTextAsync(snippet, Regex.Replace(lua, @"(\timlogger_timeout = [^\n]*\n)", "$1\timlogger_away_max_bytes = 6000\n"));
        await world.Prosody.StopAsync();
        await world.Prosody.StartAsync();

        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        const int count = 30;
        var padding = " " + new string('x', 300);
        for (var i = 0; i < count; i++) await alice.ChatAsync("bob", $"drill-{i}{padding}");
        await world.Prosody.WaitForLogAsync("over imlogger_away_max_bytes", TimeSpan.FromSeconds(30));
        await InlineRestartDrillTests.WaitUntilAsync(() => alice.ErrorMessages > 0, TimeSpan.FromSeconds(30), () => "alice received no error for a refused message");

        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        // alice's initial presence is held too (it is the oldest): refused with the messages, answered with a presence error.
        var refused = InlineRestartDrillTests.RefusedLine().Matches(world.Prosody.Log).Sum(m => int.Parse(m.Groups[1].Value))
                      - Regex.Matches(world.Prosody.Log, "Refused out presence of alice").Count;
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= count - refused, TimeSpan.FromSeconds(30),
            () => $"bob received {bob.DrillBodyCounts.Count} of the {count - refused} messages that were not refused");
        await Task.Delay(500);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var delivered = bob.DrillBodyCounts;
        var archived = ArchivedBodies(world);
        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.InRange(1, count - 1), "some, not all, were over the bound");
            Assert.That(alice.ErrorMessages, Is.EqualTo(refused), "each refused message was answered with an error, none dropped in silence");
            Assert.That(delivered.Keys.Order(), Is.EqualTo(Enumerable.Range(refused, count - refused).Select(i => $"drill-{i}").Order()),
                "the oldest were refused, the newest kept");
            Assert.That(delivered.Values, Is.All.EqualTo(1), "delivered once");
            Assert.That(archived.Order(), Is.EqualTo(delivered.Keys.Order()), "each delivered message archived once, nothing refused archived as sent");
        });
    }

    [Test, CancelAfter(180_000)]
    public async Task ImLoggerBackAndKilledAgainMidResendAndAProsodyReloadWhileQueuedRefuseNothing()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, NoNotices, attach: Attach);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        const int count = 400; // below imlogger_max_held (500): alice's session is not paused while nobody answers
        // ImLogger never started: everything waits. A reload (prosodyctl reload) in the middle keeps what is held.
        for (var i = 0; i < count / 2; i++) await alice.ChatAsync("bob", $"drill-{i}");
        await world.Prosody.WaitForLogAsync("ImLogger is not connected", TimeSpan.FromSeconds(30));
        await world.Prosody.ReloadAsync("Config reloaded: holding the stanzas of", TimeSpan.FromSeconds(30));
        for (var i = count / 2; i < count; i++) await alice.ChatAsync("bob", $"drill-{i}");

        // Back, and killed while the module sends what it kept; then back for good.
        var first = world.RunImLogger("imlogger-1", logLevel: "Info");
        await ImLoggerProcess.WaitConnectedAsync(first);
        first.KillHard(); // the module is sending what it kept, or has just begun
        await first.DisposeAsync();
        await using var second = world.RunImLogger("imlogger-2", logLevel: "Info");
        await ImLoggerProcess.WaitConnectedAsync(second);
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= count, TimeSpan.FromSeconds(90),
            () => $"bob received {bob.DrillBodyCounts.Count} of {count}");
        await Task.Delay(500);
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var archived = ArchivedBodies(world);
        Assert.Multiple(() =>
        {
            Assert.That(InlineRestartDrillTests.RefusedLine().Matches(world.Prosody.Log), Is.Empty, "nothing refused");
            Assert.That(alice.ErrorMessages, Is.Zero, "alice received no error");
            Assert.That(bob.DrillBodyCounts.Values, Is.All.EqualTo(1), "each delivered once");
            Assert.That(archived.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "each archived once");
            Assert.That(archived.Distinct().Count(), Is.EqualTo(count), "every message archived");
        });
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();
}

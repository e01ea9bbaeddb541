using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A logged user's messages are held while ImLogger is away (fail-closed) and she signs out before the verdicts come:
/// each is archived as sent, so each must reach its receiver, once, though her session is gone (Prosody and ejabberd).
/// </summary>
[TestFixture]
public partial class InlineSenderGoneTests
{
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task MessagesHeldForASenderWhoSignedOutAreDeliveredAndArchivedOnce(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="60s" />""",
            server: server);
        await using var bob = await RawXmppClient.LoginAsync(world.Server, "bob");
        var alice = await RawXmppClient.LoginAsync(world.Server, "alice");
        for (var i = 0; i < 3; i++) await alice.ChatAsync("bob", $"drill-{i}");
        await Task.Delay(1000); // read and held by the server before she goes
        await alice.DisposeAsync();
        Assert.That(bob.DrillBodyCounts, Is.Empty, "nothing is delivered before ImLogger has archived it");

        await using var imlogger = world.RunImLogger(logLevel: "Info");
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= 3, TimeSpan.FromSeconds(30),
            () => $"{bob.DrillBodyCounts.Count} of 3 messages of alice, who signed out, delivered");
        await Task.Delay(500);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, imlogger.Output);
        var archived = world.Archived().SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(bob.DrillBodyCounts.Values, Is.All.EqualTo(1), "each delivered once");
            Assert.That(archived, Is.EquivalentTo(new[] { "drill-0", "drill-1", "drill-2" }), "each archived once");
        });
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();
}

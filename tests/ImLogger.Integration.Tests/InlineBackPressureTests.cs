using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Back-pressure of the inline module (max_held, 500 by default: Prosody's imlogger_max_held, ejabberd's max_held), on
/// real Prosody and ejabberd, a raw c2s client and the real <c>imlogger</c>: a client that outruns ImLogger is read
/// more slowly, not refused. Here ImLogger is away (fail-closed) while a logged user sends more than max_held messages,
/// so the module must stop reading that session; once ImLogger connects, every message is delivered and archived once.
/// </summary>
[TestFixture, NonParallelizable]
public partial class InlineBackPressureTests
{
    private const int Messages = 700; // max_held (500) and then some

    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task AClientThatOutrunsImLoggerIsPausedNotRefusedAndEveryMessageIsArchivedOnce(string server)
    {
        // A 60 s hold timeout: the pause must come from max_held, not from stanzas refused after the timeout.
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="60s" />""",
            server: server);
        await using var alice = await RawXmppClient.LoginAsync(world.Server, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Server, "bob");

        // ImLogger is not started yet: alice's messages are held, and the module stops reading her past max_held.
        // Sent from another task: once the server stops reading, the socket's buffers fill and the writes wait.
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < Messages; i++) await alice.ChatAsync("bob", $"drill-{i}");
        });
        await world.Server.WaitForLogAsync("Paused reading from alice@example.test", TimeSpan.FromSeconds(60));
        Assert.That(bob.DrillBodyCounts, Is.Empty, "nothing is delivered before ImLogger has archived it");
        // Users who are not logged are not slowed by a paused one, nor by ImLogger being away.
        await using var carol = await RawXmppClient.LoginAsync(world.Server, "carol");
        await using var dave = await RawXmppClient.LoginAsync(world.Server, "dave");
        await carol.ChatAsync("dave", "drill-99999");
        await InlineRestartDrillTests.WaitUntilAsync(() => dave.DrillBodyCounts.ContainsKey("drill-99999"), TimeSpan.FromSeconds(30),
            () => "carol's message to dave (neither logged) was not delivered while alice was paused");

        await using var imlogger = world.RunImLogger(logLevel: "Info");
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await sending;
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= Messages, TimeSpan.FromSeconds(90),
            () => $"{bob.DrillBodyCounts.Count} of {Messages} messages delivered");
        await Task.Delay(500); // a message delivered twice would come now
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, imlogger.Output);

        var archived = world.Archived().SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(InlineRestartDrillTests.RefusedLine().Matches(world.Server.Log), Is.Empty, "nothing refused");
            Assert.That(alice.ErrorMessages, Is.Zero, "alice received no error");
            Assert.That(bob.DrillBodyCounts.Where(d => d.Value != 1).Select(d => d.Key), Is.Empty, "each message delivered once");
            Assert.That(bob.DrillBodyCounts, Has.Count.EqualTo(Messages), "every message delivered");
            Assert.That(archived.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "each message archived once");
            Assert.That(archived.Distinct().Count(), Is.EqualTo(Messages), "every message archived");
        });
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();
}

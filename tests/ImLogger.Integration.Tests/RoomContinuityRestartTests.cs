using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A restart of ImLogger while a room is in use (issue 17): the classifier's room roster is kept in the spool with the
/// calls and notices, so after the restart an occupant's status change is no join and nobody is told again. Prosody's
/// default semi-anonymous room, inline mode with the group chat module; real clients; the real imlogger process stopped
/// with SIGTERM. Before the roster was kept, bob's "away" after the restart was archived as "bob was in the room" and
/// alice's own as "alice joined the room", a second time each.
/// </summary>
[TestFixture]
public class RoomContinuityRestartTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";
    private const string Team = "plans";

    private static object Away(string who, string nick) => Send(who, $"<presence to='{Room(Team)}/{nick}'><show>away</show></presence>");

    [Test, CancelAfter(240_000)]
    public async Task AfterARestartAStatusChangeInARoomIsNoJoinAndNobodyIsToldAgain()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline, semiAnonymousRooms: true,
            organizationAttributes: $"group-chat-hosts=\"{ProsodyServer.Muc}\"");
        var first = world.RunImLogger("imlogger-1");
        await ImLoggerProcess.WaitConnectedAsync(first);

        // The clients stay connected across the restart: one scenario, which waits for a file the test writes once the
        // second imlogger is connected.
        var restarted = Path.Combine(world.Dir, "restarted");
        var stopped = Path.Combine(world.Dir, "stop-now");
        var scenario = RunCollectingAsync(world.Prosody, world.Dir,
            Connect("bob"), Connect("alice"),
            Join("bob", Team, "bob"), Join("alice", Team, "alice"),
            GroupChat("bob", Team, "before the restart"), Expect("alice", Room(Team) + "/bob", "before the restart"),
            ExpectRaw("bob", "imlogger-notice-"), Pause(1),
            Signal(stopped), WaitFile(restarted, 75),
            Away("bob", "bob"), Away("alice", "alice"), Pause(1),
            GroupChat("bob", Team, "after the restart"), Expect("alice", Room(Team) + "/bob", "after the restart"),
            Pause(1.5));

        await WaitForFileAsync(stopped);
        Assert.That(await first.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        await first.DisposeAsync();
        await using var second = world.RunImLogger("imlogger-2");
        await ImLoggerProcess.WaitConnectedAsync(second);
        await File.WriteAllTextAsync(restarted, "");
        var (_, raw) = await scenario;
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").ReplaceLineEndings("\n").Split('\n')).ToList();
        var text = string.Join("\n", lines);
        Assert.Multiple(() =>
        {
            Assert.That(lines.Count(l => l.Contains("bob (bob@example.test)", StringComparison.Ordinal)
                && (l.Contains("joined the room", StringComparison.Ordinal) || l.Contains("was in the room", StringComparison.Ordinal))), Is.EqualTo(1),
                "bob is in the room once, not again at his status change after the restart:\n" + text);
            Assert.That(lines.Count(l => l.Contains("alice", StringComparison.Ordinal) && l.Contains("joined the room", StringComparison.Ordinal)), Is.EqualTo(1),
                "alice joined once:\n" + text);
            Assert.That(text, Does.Contain("before the restart").And.Contain("after the restart"));
            Assert.That(NoticeReceipts.Of(raw, "bob"), Has.Length.EqualTo(1), "bob is told once");
            Assert.That(NoticeReceipts.Of(raw, "alice"), Has.Length.EqualTo(1), "alice is told once");
        });
    }

    private static async Task WaitForFileAsync(string path)
    {
        // Bounded only so that a broken scenario fails the test rather than hangs it (the scenario times out by itself).
        for (var i = 0; i < 1200 && !File.Exists(path); i++) await Task.Delay(100);
        Assert.That(File.Exists(path), Is.True, "the scenario reached the restart point");
    }
}

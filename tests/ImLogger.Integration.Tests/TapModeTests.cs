using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A logged conversation travels from a real Prosody (tap rules as `imlogger prosody-config` prints them)
/// through the real `imlogger run` to the directory endpoint, with real XMPP clients.
/// </summary>
[TestFixture]
public class TapModeTests
{
    /// <summary>The transcript's event lines, without the archive notices (NotificationTests covers those).</summary>
    private static string[] TextLines(MimeKit.MimeMessage m) =>
        (m.TextBody ?? "").ReplaceLineEndings("\n").Split('\n')
            .Where(l => l.StartsWith('[') && !l.Contains("] [notice", StringComparison.Ordinal)).ToArray();

    [Test, CancelAfter(180_000)]
    public async Task EachConversationOfALoggedUserIsArchivedOnceInOrder()
    {
        await using var world = await TapDeployment.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var before = DateTimeOffset.UtcNow;

        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"), Connect("carol"),
            Chat("alice", "bob", "hello bob", "<p>hello <b>bob</b> <img alt=':-)' src='smile.png'/></p>"),
            Expect("bob", "alice", "hello bob"),
            Chat("bob", "alice", "hi alice"),
            Expect("alice", "bob", "hi alice"),
            Chat("bob", "carol", "this one is not logged"),
            Expect("carol", "bob", "this one is not logged"),
            Chat("alice", "bob", "second from alice"),
            Expect("bob", "alice", "second from alice"),
            Join("alice", "lobby", "alice"),
            Join("bob", "lobby", "bob"),
            GroupChat("alice", "lobby", "hello room"),
            Expect("bob", Room("lobby") + "/alice", "hello room"),
            GroupChat("bob", "lobby", "hi all"),
            Expect("alice", Room("lobby") + "/bob", "hi all"),
            Join("carol", "lobby", "carol"),
            Pause(),
            Leave("carol", "lobby", "carol"),
            Pause(),
            Leave("bob", "lobby", "bob"),
            Pause(),
            Disconnect("alice"));

        // 3 chat messages + room: joins of alice, bob, carol; 2 messages; leaves of carol, bob, alice.
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 11);
        Assert.That(world.Archived(), Is.Empty, "nothing is delivered before the conversation closes");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, "graceful stop");
        var after = DateTimeOffset.UtcNow;

        var archived = world.Archived();
        Assert.That(archived.Select(m => m.Headers["X-ImLogger-Conversation"]),
            Is.EquivalentTo(new[] { "alice@example.test bob@example.test", "lobby@conference.example.test" }), "one transcript per conversation");
        var chat = archived.Single(m => (m.Headers["X-ImLogger-Conversation"] ?? "").StartsWith("alice", StringComparison.Ordinal));
        var room = archived.Single(m => (m.Headers["X-ImLogger-Conversation"] ?? "").StartsWith("lobby", StringComparison.Ordinal));

        var chatLines = TextLines(chat);
        Assert.Multiple(() =>
        {
            Assert.That(chatLines, Has.Length.EqualTo(3));
            Assert.That(chatLines[0], Does.EndWith("alice@example.test/test -> bob@example.test: hello bob"));
            Assert.That(chatLines[1], Does.EndWith("bob@example.test/test -> alice@example.test: hi alice"));
            Assert.That(chatLines[2], Does.EndWith("alice@example.test/test -> bob@example.test: second from alice"));
            Assert.That(chat.Headers["X-ImLogger-Participants"], Does.Contain("alice@example.test").And.Contain("bob@example.test").And.Not.Contain("carol"));
            Assert.That(chat.HtmlBody, Does.Contain("hello bob"));
            Assert.That(chat.TextBody + chat.HtmlBody, Does.Not.Contain("not logged"), "a conversation without a logged user is not archived");
            Assert.That(chat.Date, Is.InRange(before.AddTicks(-(before.Ticks % TimeSpan.TicksPerSecond)), after)); // the Date header has whole seconds (RFC 5322)
        });
        foreach (var line in chatLines.Concat(TextLines(room)))
        {
            var stamp = DateTimeOffset.Parse(line[1..line.IndexOf(']')].Replace("Z", "+00:00"), System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(stamp, Is.InRange(before.AddSeconds(-1), after), line);
        }

        var roomLines = TextLines(room);
        var expected = new[]
        {
            "* alice (alice@example.test) joined the room",
            "* bob (bob@example.test) joined the room",
            "alice (alice@example.test): hello room",
            "bob (bob@example.test): hi all",
            "* carol (carol@example.test) joined the room",
            "* carol (carol@example.test) left the room",
            "* bob (bob@example.test) left the room",
            "* alice",
        };
        Assert.That(roomLines, Has.Length.EqualTo(expected.Length), string.Join("\n", roomLines));
        for (var i = 0; i < expected.Length; i++)
            Assert.That(roomLines[i], Does.Contain(expected[i]), $"line {i}:\n{string.Join("\n", roomLines)}");
        Assert.That(roomLines[^1], Does.Contain("left the room"));
        Assert.That(Directory.GetFiles(world.ArchiveDir), Has.Length.EqualTo(2), "no temp files left behind");
    }

    [Test, CancelAfter(180_000)]
    public async Task KilledComponentLosesNothingAndDeliversEachMessageOnce()
    {
        await using var world = await TapDeployment.StartAsync();
        var first = world.RunImLogger("imlogger-1");
        await ImLoggerProcess.WaitConnectedAsync(first);
        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "one"), Expect("bob", "alice", "one"),
            Chat("bob", "alice", "two"), Expect("alice", "bob", "two"),
            Chat("alice", "bob", "three"), Expect("bob", "alice", "three"));
        await ImLoggerProcess.WaitSpooledAsync(first, 3);
        first.KillHard();
        await first.DisposeAsync();
        Assert.That(world.Archived(), Is.Empty);

        await using var second = world.RunImLogger("imlogger-2");
        await second.WaitForLineAsync(l => l.Contains("1 open conversation(s) resumed", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the open conversation resumed");
        await ImLoggerProcess.WaitConnectedAsync(second);
        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "four"), Expect("bob", "alice", "four"));
        await ImLoggerProcess.WaitSpooledAsync(second, 1);
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var archived = world.Archived();
        Assert.That(archived, Has.Count.EqualTo(1), "the conversation continued in its transcript");
        var bodies = TextLines(archived[0]).Select(l => l[(l.LastIndexOf(':') + 2)..]).ToArray();
        Assert.That(bodies, Is.EqualTo(new[] { "one", "two", "three", "four" }));
    }

    [Test, CancelAfter(120_000)]
    public async Task IdleConversationIsDeliveredWithoutAStop()
    {
        await using var world = await TapDeployment.StartAsync(idleClose: "2s");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("dave"),
            Chat("dave", "alice", "ping"), Expect("alice", "dave", "ping"));
        await imlogger.WaitForLineAsync(l => l.Contains("delivered to local-archive", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "delivery after the idle time");
        var archived = world.Archived().Single();
        Assert.That(TextLines(archived).Single(), Does.EndWith("dave@example.test/test -> alice@example.test: ping"));
    }
}

using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Real bounces on real Prosody and ejabberd (issues 17 and 18: the same scenarios and assertions): the server sends back what it cannot deliver, a logged user's message and
/// ImLogger's notice alike, and the transcript says so; whoever was not told is told at the next activity, also after a
/// restart of ImLogger (the notice hour kept in the spool counts only notices that went out). Inline mode, real clients,
/// the real imlogger process stopped with SIGTERM. Prosody sends a bounce straight to the sender's session (the module
/// holds it while it posts the message); ejabberd routes it (ejabberd_router:route_error/2), and its module holds a message
/// error with an id on its way to a logged user even when bare.
/// </summary>
[TestFixture]
public class NoticeBounceTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";
    private const string Component = "archive.example.test";
    private const string Nobody = "nobody@example.test"; // no such account: both servers answer cancel/service-unavailable

    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private static object ChatWithId(string from, string to, string id, string body) =>
        Send(from, $"<message type='chat' to='{to}' id='{id}'><body>{body}</body></message>");

    /// <summary>Alice (logged) writes to an account that does not exist: Prosody bounces her message and ImLogger's notice to
    /// it. After a restart within the hour alice writes again: nobody@ was never told, so it is owed the notice again (and
    /// bounced again); alice was told, so she is not told twice. Hostile: alice chooses a message id that looks like
    /// ImLogger's notice ids, and her client answers her own notice with an error claiming to bounce it.</summary>
    [TestCaseSource(nameof(Servers)), CancelAfter(240_000)]
    public async Task BouncedMessagesAndNoticesAreMarked_AndOnlyTheUntoldAreToldAgainAfterARestart(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline, server: server);
        await using var first = world.RunImLogger("imlogger-1"); // disposed by the test too; here also when an assertion ends it early
        await ImLoggerProcess.WaitConnectedAsync(first);

        var restarted = Path.Combine(world.Dir, "restarted");
        var stopped = Path.Combine(world.Dir, "stop-now");
        var scenario = RunCollectingAsync(world.Server, world.Dir,
            Connect("alice"),
            ChatWithId("alice", Nobody, "to-nobody-1", "first to nobody"),
            ExpectRaw("alice", "imlogger-notice-"), ExpectRaw("alice", "to-nobody-1"),
            // A forged bounce: alice's client answers her own notice with an error (the server stamps her full JID on it).
            ErrorBack("alice", "imlogger-notice-", Component),
            // An id chosen to look like a notice's: its bounce is the bounce of alice's message, no notice's.
            Pause(1),
            ChatWithId("alice", Nobody, "imlogger-notice-00000000000000000000000000000000", "looks like a notice"),
            ExpectRaw("alice", "imlogger-notice-00000000000000000000000000000000"),
            Pause(1.5),
            Signal(stopped), WaitFile(restarted, 75),
            ChatWithId("alice", Nobody, "to-nobody-2", "second to nobody"), ExpectRaw("alice", "to-nobody-2"),
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
        // The message's own line: ejabberd's bounce carries the message's body back, and the error's line shows it too.
        string Line(string contains) => lines.SingleOrDefault(l => l.Contains(contains, StringComparison.Ordinal) && !l.Contains("error message (", StringComparison.Ordinal)) ?? "";
        var notices = lines.Select((l, i) => (Line: l, At: i))
            .Where(x => x.Line.Contains("[notice", StringComparison.Ordinal) || x.Line.Contains("[BOUNCED by the server for", StringComparison.Ordinal)).ToList();
        var afterRestart = lines.FindIndex(l => l.Contains("second to nobody", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(NoticeReceipts.Of(raw, "alice"), Has.Length.EqualTo(1), "alice was told once, before the restart:\n" + text);
            Assert.That(Line("first to nobody"), Does.Contain("[BOUNCED by the server: cancel/service-unavailable; not delivered]"), text);
            Assert.That(Line("second to nobody"), Does.Contain("[BOUNCED by the server: cancel/service-unavailable; not delivered]"), text);
            Assert.That(Line("looks like a notice"), Does.Contain("[BOUNCED by the server: cancel/service-unavailable; not delivered]"), text);
            Assert.That(notices.Select(n => n.Line), Has.All.Contain($"BOUNCED by the server for {Nobody}: cancel/service-unavailable"),
                "every notice to nobody@ bounced, and says so:\n" + text);
            Assert.That(notices.Count(n => n.Line.Contains("notice to alice@example.test", StringComparison.Ordinal)), Is.EqualTo(1),
                "alice's notice went out once and is not bounced by her own client's error:\n" + text);
            Assert.That(notices.Where(n => n.At > afterRestart).Select(n => n.Line).FirstOrDefault(), Does.Not.Contain("alice@example.test")
                .And.Contain($"BOUNCED by the server for {Nobody}"),
                "after the restart nobody@, never told, is owed the notice again (and it bounced again); alice is not:\n" + text);
            Assert.That(text, Does.Not.Contain("for alice@example.test: cancel"), "alice's own error claims no bounce of her notice");
        });
    }

    /// <summary>The server's default semi-anonymous room, mod_imlogger_muc on the MUC host. Bob (not logged) creates it, so alice
    /// (logged, a participant) is shown nobody's real JID. Carol joins and leaves in one breath: ImLogger's notice to her
    /// through the room arrives after she left, and the room side bounces it (cancel/item-not-found); when carol comes back
    /// she is told. Then bob, the owner, destroys the room and alice writes to it: the MUC service bounces her message
    /// to her (Prosody: straight to her session; ejabberd: routed, with a text), and the transcript says so.</summary>
    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task ANoticeToAnOccupantWhoLeftAndAMessageToADestroyedRoomAreMarkedBounced(string server)
    {
        const string team = "gone";
        var room = Room(team);
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline, semiAnonymousRooms: true,
            organizationAttributes: $"group-chat-hosts=\"{ProsodyServer.Muc}\"", server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir,
            Connect("bob"), Connect("alice"), Connect("carol"),
            Join("bob", team, "bob"), Join("alice", team, "alice"), ExpectRaw("alice", "imlogger-notice-"), ExpectRaw("bob", "imlogger-notice-"),
            // Both presences in one write: the room has let carol go before ImLogger's notice to her can arrive.
            Send("carol", $"<presence to='{room}/carol'><x xmlns='http://jabber.org/protocol/muc'/></presence><presence type='unavailable' to='{room}/carol'/>"),
            Pause(2),
            Join("carol", team, "carol"), ExpectRaw("carol", "imlogger-notice-"),
            Send("bob", $"<iq type='set' to='{room}' id='destroy-1'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"),
            ExpectRaw("bob", "destroy-1"),
            Send("alice", $"<message type='groupchat' to='{room}' id='to-gone-room'><body>after the room is gone</body></message>"),
            ExpectRaw("alice", "to-gone-room"),
            Pause(1.5));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").ReplaceLineEndings("\n").Split('\n')).ToList();
        var text = string.Join("\n", lines);
        var carol = $"{room}/carol (carol@example.test)";
        var bounced = lines.FindIndex(l => l.Contains($"BOUNCED by the server for {carol}: cancel/item-not-found", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(bounced, Is.GreaterThanOrEqualTo(0), "the notice that reached the room after carol left is marked bounced:\n" + text);
            Assert.That(lines.Skip(bounced + 1).Any(l => l.Contains($"notice to {carol}", StringComparison.Ordinal)), Is.True,
                "carol, not told, is told when she comes back:\n" + text);
            Assert.That(NoticeReceipts.Of(raw, "carol"), Has.Length.EqualTo(1), "carol received the notice once, after coming back");
            Assert.That(lines.SingleOrDefault(l => l.Contains("after the room is gone", StringComparison.Ordinal) && !l.Contains("error message (", StringComparison.Ordinal)),
                Does.Contain("[BOUNCED by the server: cancel/item-not-found; not delivered]"), text);
        });
    }

    private static async Task WaitForFileAsync(string path)
    {
        // Bounded only so that a broken scenario fails the test rather than hangs it (the scenario times out by itself).
        for (var i = 0; i < 1200 && !File.Exists(path); i++) await Task.Delay(100);
        Assert.That(File.Exists(path), Is.True, "the scenario reached the restart point");
    }
}

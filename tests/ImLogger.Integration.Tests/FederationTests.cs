using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The federation rules across two real servers (issue 18), both ways round: ejabberd serving example.test with ImLogger
/// inline and a Prosody without ImLogger serving another domain; and the mirror, Prosody with ImLogger and an ejabberd
/// without it. They federate over loopback (how names reach loopback without DNS: <see cref="FederatedServers"/>). Real
/// slixmpp clients, each signed in at its own server; the same scenarios and assertions whichever server ImLogger is on.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)] // its tests too: each starts its own servers
public class FederationTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private const string Component = "archive.example.test";

    /// <summary>The server ImLogger is attached to; the other one is the federated peer.</summary>
    private static readonly string[] ImLoggerOn = ["ejabberd", "prosody"];

    private static Task<FederatedServers> StartAsync(string imloggerOn, string[] logged, params string[] peerUsers) => imloggerOn == "prosody"
        ? FederatedServers.StartWithImLoggerOnProsodyAsync(Closed, logged, peerUsers)
        : FederatedServers.StartAsync(Closed, logged, peerUsers); // TapDeployment adds server="ejabberd"

    private static object ConnectAt(FederatedServers f, string node) => new { @as = f.PeerJid(node), @do = "connect", resource = "test", port = f.Peer.C2sPort };
    private static object JoinRoom(string who, string room, string nick) => new { @as = Jid(who), @do = "join", room, nick };
    private static object TryJoinRoom(string who, string room, string nick) => new { @as = Jid(who), @do = "try_join", room, nick };
    private static object SayInRoom(string who, string room, string body) => new { @as = Jid(who), @do = "groupchat", room, body };
    private static object ExpectError(string who, string from) => new { @as = Jid(who), @do = "expect_error", from };

    private static JsonObject[] Got(JsonObject received, string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();
    private static string[] Notices(JsonObject received, string who) =>
        Got(received, who).Where(m => (string?)m["from"] == Component).Select(m => (string)m["body"]!).ToArray();

    [TestCaseSource(nameof(ImLoggerOn)), CancelAfter(180_000)]
    public async Task ALoggedUsersJoinToARoomOnTheOtherServerIsRefusedWhileTheRoomServesOthers(string imloggerOn)
    {
        await using var fed = await StartAsync(imloggerOn, ["alice"], "pat");
        await using var imlogger = fed.World.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var lobby = $"lobby@{fed.PeerMuc}";
        var pat = fed.PeerJid("pat");

        var (received, raw) = await RunCollectingAsync(fed.World.Server, fed.World.Dir,
            ConnectAt(fed, "pat"), Connect("alice"), Connect("bob"),
            JoinRoom(pat, lobby, "pat"),
            // bob is not logged: the room on the other server is real and reachable from ejabberd.
            JoinRoom("bob", lobby, "bob"),
            TryJoinRoom("alice", lobby, "alice"), ExpectError("alice", lobby),
            SayInRoom(pat, lobby, "said after alice tried"), Expect("bob", lobby + "/pat", "said after alice tried"),
            Pause());

        Assert.Multiple(() =>
        {
            var refusal = Got(received, "alice").Single(m => (string?)m["type"] == "error");
            Assert.That((string?)refusal["kind"], Is.EqualTo("presence"));
            Assert.That((string?)refusal["text"], Does.Contain("other servers"));
            Assert.That(Got(received, "alice").Any(m => (string?)m["type"] == "groupchat"), Is.False, "alice never receives the room's traffic");
            var patSaw = string.Join("\n", raw[pat]?.AsArray().Select(x => (string?)x) ?? []);
            Assert.That(patSaw, Does.Contain($"{lobby}/bob"), "the room across the servers works for users who are not logged");
            Assert.That(patSaw, Does.Not.Contain($"{lobby}/alice"), "the room never saw alice join");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = fed.World.Archived().Select(m => m.TextBody ?? "").ToList();
        Assert.That(archived.Any(t => t.Contains("federated-group-chat", StringComparison.Ordinal) && t.Contains(lobby, StringComparison.Ordinal)),
            "the refused join is archived:\n" + string.Join("\n----\n", archived));
    }

    [TestCaseSource(nameof(ImLoggerOn)), CancelAfter(180_000)]
    public async Task TheOtherServersUsersJoinALoggedUsersRoomAreArchivedAndToldOnce(string imloggerOn)
    {
        await using var fed = await StartAsync(imloggerOn, ["alice"], "pat", "quinn");
        await using var imlogger = fed.World.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var (pat, quinn) = (fed.PeerJid("pat"), fed.PeerJid("quinn"));

        var received = await RunAsync(fed.World.Server, fed.World.Dir,
            Connect("alice"), ConnectAt(fed, "pat"), ConnectAt(fed, "quinn"),
            Join("alice", "team", "alice"),
            JoinRoom(pat, Room("team"), "pat"), JoinRoom(quinn, Room("team"), "quinn"),
            SayInRoom(pat, Room("team"), "hi from the other server"), Expect("alice", Room("team") + "/pat", "hi from the other server"),
            GroupChat("alice", "team", "welcome both"), Expect(pat, Room("team") + "/alice", "welcome both"), Expect(quinn, Room("team") + "/alice", "welcome both"),
            SayInRoom(quinn, Room("team"), "thanks"), Expect("alice", Room("team") + "/quinn", "thanks"),
            Pause(2));

        Assert.Multiple(() =>
        {
            Assert.That(Notices(received, pat), Has.Length.EqualTo(1), "pat, on the other server, is told once");
            Assert.That(Notices(received, quinn), Has.Length.EqualTo(1), "quinn, on the other server, is told once");
            Assert.That(Notices(received, "alice"), Has.Length.EqualTo(1), "alice is told once");
        });
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 3);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var text = string.Join("\n----\n", fed.World.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            foreach (var body in new[] { "hi from the other server", "welcome both", "thanks" })
                Assert.That(text.Split('\n').Count(l => l.EndsWith(body, StringComparison.Ordinal)), Is.EqualTo(1), $"'{body}' archived once:\n{text}");
            Assert.That(text, Does.Contain(pat).And.Contain(quinn), "the other server's occupants are named by their JIDs");
        });
    }

    [TestCaseSource(nameof(ImLoggerOn)), CancelAfter(180_000)]
    public async Task OneToOneAcrossTheServersIsArchivedExactlyOnceAndEncryptionFromThereIsRefused(string imloggerOn)
    {
        await using var fed = await StartAsync(imloggerOn, ["alice"], "pat");
        await using var imlogger = fed.World.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var pat = fed.PeerJid("pat");
        var bodies = Enumerable.Range(1, 6).Select(i => $"x{i:D2}").ToArray();
        var steps = new List<object> { Connect("alice"), ConnectAt(fed, "pat") };
        foreach (var (body, i) in bodies.Select((b, i) => (b, i)))
            steps.AddRange(i % 2 == 0
                ? [Chat("alice", pat, body), Expect(pat, "alice", body)]
                : [Chat(pat, "alice", body), Expect("alice", pat, body)]);
        // Hostile across the servers: an OMEMO message from the other server to alice is refused, the error crosses s2s back.
        steps.Add(new { @as = pat, @do = "send", xml = $"<message to='{Jid("alice")}' type='chat' id='omemo-s2s'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>a2V5</key><iv>aXY=</iv></header><payload>WFMyU0VOQ1g=</payload></encrypted><body>XS2SENCX fallback</body></message>" });
        steps.Add(ExpectError(pat, Jid("alice")));
        steps.Add(Pause());
        var received = await RunAsync(fed.World.Server, fed.World.Dir, [.. steps]);

        Assert.Multiple(() =>
        {
            Assert.That(Got(received, pat).Where(m => (string?)m["type"] == "chat" && (string?)m["from"] != Component).Select(m => (string?)m["body"]),
                Is.EqualTo(bodies.Where((_, i) => i % 2 == 0)), "pat receives alice's messages once each, in order");
            Assert.That(Got(received, "alice").Where(m => (string?)m["type"] == "chat" && (string?)m["from"] != Component).Select(m => (string?)m["body"]),
                Is.EqualTo(bodies.Where((_, i) => i % 2 == 1)), "alice receives pat's messages once each, in order");
            Assert.That(Got(received, "alice").Any(m => (string?)m["type"] == "error"), Is.False);
            Assert.That(Got(received, pat).Where(m => (string?)m["type"] == "error").Select(m => (string?)m["text"]).SingleOrDefault(), Does.Contain("logged for compliance"),
                "only the encrypted message is refused, and the other server's user reads why");
            Assert.That(Got(received, "alice").Any(m => ((string?)m["body"] ?? "").Contains("XS2SENCX", StringComparison.Ordinal)), Is.False, "alice never receives it");
            Assert.That(Notices(received, pat), Has.Length.EqualTo(1), "pat is told once, across the servers");
        });
        await ImLoggerProcess.WaitSpooledAsync(imlogger, bodies.Length);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var lines = fed.World.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n')).ToArray();
        Assert.That(lines.Select(l => l.TrimEnd()).Where(l => bodies.Any(b => l.EndsWith(": " + b, StringComparison.Ordinal))).Select(l => l[^3..]),
            Is.EqualTo(bodies), "each message archived exactly once, in order:\n" + string.Join("\n", lines));
        Assert.That(lines.Count(l => l.Contains("REFUSED", StringComparison.Ordinal) && l.Contains("end-to-end-encryption", StringComparison.Ordinal)), Is.EqualTo(1),
            "the refused encrypted message from the other server is archived once, with its rule");
    }
}

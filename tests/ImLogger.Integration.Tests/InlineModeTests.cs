using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Inline mode on real Prosody: mod_imlogger_inline (written out by `imlogger prosody-config --out`) holds each
/// stanza of a logged user until the real `imlogger` process has spooled it and decided; real slixmpp clients.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)] // its tests too: each starts its own servers
public class InlineModeTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private const string Open = """<attach mode="inline" failure-mode="open" timeout="5s" />""";

    // An OMEMO (eu.siacs.conversations.axolotl) message as Conversations sends it, trimmed: header, key, payload, and the
    // fallback body clients put in for those who cannot decrypt.
    private static string Omemo(string to, string id) => $"""
        <message to='{to}' type='chat' id='{id}'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1234'><key rid='5678'>MwohBf</key><iv>pTfM0XbD</iv></header><payload>ZmFrZQ==</payload></encrypted><encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl' name='OMEMO'/><body>I sent you an OMEMO encrypted message but your client doesn't seem to support that.</body><store xmlns='urn:xmpp:hints'/></message>
        """.Trim();

    private static object Send(string who, string xml) => new { @as = Jid(who), @do = "send", xml };
    private static object ExpectError(string who, string from) => new { @as = Jid(who), @do = "expect_error", from = Jid(from) };
    private static object TryJoin(string who, string room, string nick) => new { @as = Jid(who), @do = "try_join", room, nick };

    private static JsonObject[] Got(JsonObject received, string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();

    // The scenarios shared by both servers (issue 18): the same clients, the same assertions; a difference is a defect
    // in an adapter.
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task PlainIsDeliveredAndArchivedEncryptedIsRefusedBothWays(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var received = await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "plain hello"), Expect("bob", "alice", "plain hello"),
            Send("bob", Omemo(Jid("alice"), "omemo-in")), ExpectError("bob", "alice"),
            Send("alice", Omemo(Jid("bob"), "omemo-out")), ExpectError("alice", "bob"),
            Chat("bob", "alice", "plain reply"), Expect("alice", "bob", "plain reply"),
            Pause());

        Assert.Multiple(() =>
        {
            Assert.That(Got(received, "bob").Where(m => (string?)m["type"] == "chat" && ((string?)m["from"])!.StartsWith("alice", StringComparison.Ordinal)).Select(m => (string?)m["body"]),
                Is.EqualTo(new[] { "plain hello" }), "bob never sees alice's encrypted message");
            Assert.That(Got(received, "alice").Where(m => (string?)m["type"] == "chat" && ((string?)m["from"])!.StartsWith("bob", StringComparison.Ordinal))
                .Select(m => (string?)m["body"]), Is.EqualTo(new[] { "plain reply" }), "alice never sees bob's encrypted message");
            // slixmpp knows RFC 3920's conditions only, so it reports policy-violation (RFC 6120) as "": the text is what users read.
            var bobsError = Got(received, "bob").Single(m => (string?)m["type"] == "error");
            Assert.That((string?)bobsError["text"], Does.Contain("logged for compliance"));
            var alicesError = Got(received, "alice").Single(m => (string?)m["type"] == "error");
            Assert.That((string?)alicesError["text"], Does.Contain("cannot be sent"));
            Assert.That(Got(received, "alice").Any(m => (string?)m["from"] == "archive.example.test" && ((string?)m["body"])!.Contains("was refused", StringComparison.Ordinal)),
                "alice is told why bob's message did not reach her");
        });

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var text = world.Archived().Single().TextBody ?? "";
        Assert.That(text, Does.Contain("plain hello").And.Contain("plain reply"));
        Assert.That(text.Split('\n').Count(l => l.Contains("REFUSED", StringComparison.Ordinal) && l.Contains("end-to-end-encryption", StringComparison.Ordinal)),
            Is.EqualTo(2), "both refused attempts are archived with their rule:\n" + text);
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task RoomsOnOtherServersAreRefusedFederatedUsersMayJoinALoggedUsersRoom(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var received = await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("erin@partner.test"),
            TryJoin("alice", "lobby@conference.elsewhere.test", "alice"), ExpectError("alice", "lobby@conference.elsewhere.test"),
            Join("alice", "team", "alice"),
            Join("erin@partner.test", "team", "erin"),
            GroupChat("erin@partner.test", "team", "hi from partner"), Expect("alice", Room("team") + "/erin", "hi from partner"),
            Pause());

        // slixmpp's MUC plugin does not expose the condition of a presence error; the text is what the user sees.
        var refusal = Got(received, "alice").Single(m => (string?)m["type"] == "error");
        Assert.That((string?)refusal["kind"], Is.EqualTo("presence"));
        Assert.That((string?)refusal["text"], Does.Contain("other servers"));

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = world.Archived();
        Assert.That(archived.Any(m => (m.TextBody ?? "").Contains("federated-group-chat", StringComparison.Ordinal)), "the refused join is archived");
        Assert.That(archived.Any(m => (m.TextBody ?? "").Contains("hi from partner", StringComparison.Ordinal)), "the federated user's message in alice's room is archived");
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task ABurstKeepsItsOrderAndEveryMessageIsArchivedOnce(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "bob"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var burst = Enumerable.Range(1, 60).Select(i => $"m{i:D2}").ToArray();
        var steps = new List<object> { Connect("alice"), Connect("bob") };
        steps.AddRange(burst.Select(b => Chat("alice", "bob", b)));   // sent back to back, held twice (alice out, bob in)
        steps.Add(Expect("bob", "alice", burst[^1]));
        steps.Add(Pause());
        var received = await RunAsync(world.Server, world.Dir, [.. steps]);

        var got = Got(received, "bob").Where(m => ((string?)m["from"])!.StartsWith("alice", StringComparison.Ordinal)).Select(m => (string?)m["body"]).ToArray();
        Assert.That(got, Is.EqualTo(burst), "delivered in the order sent, each once");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var lines = (world.Archived().Single().TextBody ?? "").Split('\n').Where(l => l.Contains(": m", StringComparison.Ordinal)).ToArray();
        Assert.That(lines.Select(l => l.Trim()[^3..]), Is.EqualTo(burst), "archived in order, once although held for both logged users");
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task FailClosedRefusesWhileTheComponentIsDownAndNeverDelaysUsersWhoAreNotLogged(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed, server: server);
        // No imlogger running at all: the component is not connected.
        var received = await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"), Connect("carol"),
            Chat("alice", "bob", "while down"), ExpectError("alice", "bob"),
            Chat("bob", "carol", "not logged, never held"), Expect("carol", "bob", "not logged, never held"),
            Pause());

        Assert.Multiple(() =>
        {
            // Her presence is refused too (everything of a logged user is held); the message's error is what she reads.
            var error = Got(received, "alice").Single(m => (string?)m["type"] == "error" && (string?)m["kind"] == "message");
            Assert.That((string?)error["condition"], Is.EqualTo("remote-server-timeout"));
            Assert.That((string?)error["text"], Does.Contain("Archiving is unavailable; your message was not sent"));
            Assert.That(Got(received, "bob").Any(m => (string?)m["body"] == "while down"), Is.False, "nothing of a logged user is delivered unlogged");
        });
        Assert.That(world.Server.Log, Does.Contain("refused (fail-closed)"));
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task FailOpenDeliversAndReportsTheGapWhenTheComponentReturns(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Open, server: server);
        var down = await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "while down"), Expect("bob", "alice", "while down"));
        Assert.That(Got(down, "alice").Any(m => (string?)m["type"] == "error"), Is.False);
        Assert.That(world.Server.Log, Does.Contain("delivered UNLOGGED (fail-open)"));

        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "back up"), Expect("bob", "alice", "back up"));
        var gap = await imlogger.WaitForLineAsync(l => l.Contains("GAP:", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the gap report");
        Assert.That(gap, Does.Contain("of alice@example.test passed UNLOGGED"));
    }
}

/// <summary>Approved clients on real Prosody: the component asks each logged session's client for its version (XEP-0092).</summary>
/// <summary>A group chat learned to be end-to-end encrypted stays closed to logged users across a restart, and the admin
/// can list and forget it while the service runs (through its control socket).</summary>
[TestFixture]
public class EncryptedRoomTests
{
    private const string Room = "crypt@" + ProsodyServer.Muc;

    private static object Send(string who, string xml) => new { @as = Jid(who), @do = "send", xml };
    private static object TryJoin(string who, string nick) => new { @as = Jid(who), @do = "try_join", room = Room, nick };
    private static object ExpectErrorFromRoom(string who) => new { @as = Jid(who), @do = "expect_error", from = Room };

    [Test, CancelAfter(240_000)]
    public async Task ALearnedEncryptedRoomIsRefusedAfterARestartUntilTheAdminForgetsIt()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            attach: """<attach mode="inline" failure-mode="closed" timeout="5s" />""");
        await using (var imlogger = world.RunImLogger())
        {
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            // bob (not logged) writes OMEMO into the room while alice is in it: ImLogger learns the room is encrypted.
            await RunAsync(world.Prosody, world.Dir, Connect("bob"), Connect("alice"), Join("bob", "crypt", "bob"), Join("alice", "crypt", "alice"),
                Send("bob", $"<message to='{Room}' type='groupchat' id='g1'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohBf</key><iv>pTfM0XbD</iv></header><payload>ZmFrZQ==</payload></encrypted><encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl' name='OMEMO'/><body>I sent you an OMEMO encrypted message</body></message>"),
                Pause());
            var (code, rooms) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "spool", "rooms", "--config", world.ConfigPath);
            Assert.That(code, Is.Zero, rooms);
            Assert.That(rooms, Does.Contain(Room).And.Contain("learned: encrypted traffic seen at"));
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }

        await using (var restarted = world.RunImLogger("imlogger-restarted"))
        {
            await ImLoggerProcess.WaitConnectedAsync(restarted);
            var refused = await RunAsync(world.Prosody, world.Dir, Connect("alice"), TryJoin("alice", "alice"), ExpectErrorFromRoom("alice"));
            var error = refused[Jid("alice")]!.AsArray().Select(m => (JsonObject)m!).First(m => (string?)m["type"] == "error");
            Assert.That((string?)error["text"], Does.Contain("end-to-end encrypted group chats"), "still refused after the restart");

            var (code, forgot) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "spool", "forget-room", Room, "--config", world.ConfigPath);
            Assert.That(code, Is.Zero, forgot);
            Assert.That(forgot, Does.Contain("forgotten: logged users may join it again"));
            await RunAsync(world.Prosody, world.Dir, Connect("alice"), Join("alice", "crypt", "alice"));
            Assert.That(await restarted.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        var (listCode, after) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "spool", "rooms", "--config", world.ConfigPath);
        Assert.That(listCode, Is.Zero, after);
        Assert.That(after, Does.Contain("0 learned"));
    }
}

[TestFixture]
public class ApprovedClientTests
{
    [Test, CancelAfter(180_000)]
    public async Task AnUnapprovedClientIsRefusedWithANoticeAnApprovedOneIsNot()
    {
        const string onlyConversations = """<approved-clients><client name="Conversations" caps-node="http://conversations.im" min-version="2.12" /></approved-clients>""";
        const string partner = """
            <organization domain="partner.test" endpoint="local-archive" seats="10">
                <approved-clients><client name="Slixmpp" min-version="1.8" /></approved-clients>
                <user jid="erin@partner.test" />
              </organization>
            """;
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], partner,
            exampleOrganizationXml: onlyConversations, attach: """<attach mode="inline" />""");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        // alice's slixmpp is not approved for example.test: the server closes her session at sign-in (SignInClientTests has
        // the details); erin's is approved for partner.test.
        var (received, _, closed) = await RunClosingAsync(world.Prosody, world.Dir,
            Connect("bob"), Connect("erin@partner.test"), Connect("frank@partner.test"),
            new { @as = Jid("alice"), @do = "connect", wait = "closed" },
            Chat("erin@partner.test", "frank@partner.test", "from an approved client"), Expect("frank@partner.test", "erin@partner.test", "from an approved client"),
            Pause());

        JsonObject[] Got(string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();
        Assert.Multiple(() =>
        {
            var text = (string?)closed[Jid("alice")]?["text"];
            Assert.That(text, Does.Contain("is not approved for users whose conversations are logged").And.Contain("Conversations 2.12"));
            // What a client calls itself is its own text: never repeated to anyone, only written to ImLogger's log and the archive.
            Assert.That(text, Does.Not.Contain("Slixmpp"));
            Assert.That(imlogger.Output, Does.Contain("Sign-in of alice@example.test/test REFUSED (unapproved-client: a client that calls itself 'Slixmpp"), "the operator reads which client was seen");
            Assert.That(Got("alice").Any(m => (string?)m["from"] == "archive.example.test" && ((string?)m["body"])!.Contains("Sign in with one of: Conversations", StringComparison.Ordinal)),
                "the logged user gets a message saying which clients are allowed");
            Assert.That(Got("erin@partner.test").Any(m => (string?)m["type"] == "error"), Is.False);
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(world.Archived().Any(m => (m.TextBody ?? "").Contains("unapproved-client", StringComparison.Ordinal)), "the refusal is archived");

        // The coverage view says why nothing of alice's gets archived: her client.
        var (code, report) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, report);
        var lines = report.Split('\n');
        Assert.That(lines.Single(l => l.Contains("alice@example.test", StringComparison.Ordinal)),
            Does.Contain("logging active, but BLOCKED: the last stanza they sent was refused (unapproved-client").And.Contain("switch to an approved client"));
        Assert.That(lines.Single(l => l.Contains("erin@partner.test", StringComparison.Ordinal)), Does.Not.Contain("BLOCKED"));
    }
}

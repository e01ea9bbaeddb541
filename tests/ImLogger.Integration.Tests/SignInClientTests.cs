using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Approved clients at sign-in (issue 17), on real Prosody and ejabberd (issue 18: the same scenarios and assertions; a
/// difference is a defect in an adapter) with real slixmpp clients and a real ImLogger: a logged user's new
/// session is asked its version at once and kept apart until ImLogger has judged it. An approved client signs in and chats
/// (what was sent to it meanwhile arrives after); an unapproved, too old, silent, erroring, huge or malformed one receives
/// one message naming the approved clients, is closed with policy-violation, receives nothing else, and the attempt is
/// archived. A user who is not logged is never asked.
/// </summary>
[TestFixture]
public class SignInClientTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private const string Approved = """<approved-clients answer-within="2s"><client name="Slixmpp" min-version="1.8" /><client name="Conversations" min-version="2.12" /></approved-clients>""";

    private static string Version(string name, string version) => $"<query xmlns='jabber:iq:version'><name>{name}</name><version>{version}</version></query>";

    /// <summary>Connects as <paramref name="who"/> answering the version query as <paramref name="answer"/> says, without
    /// waiting for the session to be ready (a refused one never is).</summary>
    private static object ConnectAnswering(string who, object answer, string? presence = null) =>
        presence == null ? new { @as = Jid(who), @do = "connect", answer, wait = "none" } : new { @as = Jid(who), @do = "connect", answer, wait = "none", presence };

    private static object ExpectClosed(string who) => new { @as = Jid(who), @do = "expect_closed" };

    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task AnApprovedClientChatsAnUnapprovedOneIsClosedAndReceivesNothing(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "dave"], null, exampleOrganizationXml: Approved, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var (received, raw, closed) = await RunClosingAsync(world.Server, world.Dir,
            Connect("bob"),
            // Both answer after a second: what bob sends them meanwhile must wait (alice) or never arrive (dave).
            ConnectAnswering("alice", new { xml = Version("Slixmpp", "1.8.3"), delay = 1.5 }),
            ConnectAnswering("dave", new { xml = Version("EvilClient", "9.9"), delay = 1.5 }),
            // Once asked, each session is bound and waits: what is sent to it now meets the gate, not offline storage.
            ExpectRaw("alice", "jabber:iq:version"), ExpectRaw("dave", "jabber:iq:version"),
            Chat("bob", "alice@example.test/test", "DURING-CHECK to alice"),
            Chat("bob", "dave@example.test/test", "DURING-CHECK to dave's session"),
            Chat("bob", "dave", "DURING-CHECK to dave"),
            ExpectClosed("dave"),
            Expect("alice", "bob", "DURING-CHECK to alice"),
            Chat("alice", "bob", "hello from an approved client"), Expect("bob", "alice", "hello from an approved client"),
            Chat("bob", "alice", "and back"), Expect("alice", "bob", "and back"),
            Pause());

        var daveSaw = Seen(raw, "dave");
        Assert.Multiple(() =>
        {
            Assert.That((string?)closed[Jid("dave")]?["condition"], Is.EqualTo("policy-violation"), "dave's session is closed with a stream error");
            Assert.That((string?)closed[Jid("dave")]?["text"], Does.Contain("not approved").And.Contain("Slixmpp 1.8 or later").And.Contain("Conversations 2.12 or later"));
            Assert.That((string?)closed[Jid("dave")]?["text"], Does.Not.Contain("EvilClient"), "what a client calls itself is never repeated to anyone");
            var notices = Got(received, "dave").Where(m => (string?)m["from"] == "archive.example.test").ToList();
            Assert.That(notices, Has.Count.EqualTo(1), "one clear message");
            Assert.That((string?)notices[0]["body"], Does.Contain("Sign in with one of: Slixmpp 1.8 or later, Conversations 2.12 or later"));
            Assert.That(daveSaw, Does.Not.Contain("DURING-CHECK"), "nothing sent to dave during the check reached his unapproved client");
            Assert.That(Got(received, "dave").Count, Is.EqualTo(1), "he received nothing but the message: " + daveSaw);
            Assert.That(closed.ContainsKey(Jid("alice")), Is.False);
            Assert.That(Got(received, "alice").Any(m => (string?)m["type"] == "error"), Is.False, "alice's approved client is refused nothing");
            Assert.That(Seen(raw, "bob"), Does.Not.Contain("jabber:iq:version"), "bob is not logged: never asked");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(imlogger.Output, Does.Contain("Sign-in of dave@example.test/test REFUSED").And.Contain("calls itself 'EvilClient 9.9'"));
        var archived = world.Archived().Select(m => m.TextBody ?? "").ToList();
        Assert.That(archived.Any(t => t.Contains("sign-in of dave@example.test/test", StringComparison.Ordinal) && t.Contains("unapproved-client", StringComparison.Ordinal)),
            "the refused sign-in is archived for the compliance officer:\n" + string.Join("\n----\n", archived));
        Assert.That(archived.Any(t => t.Contains("hello from an approved client", StringComparison.Ordinal)), "alice's chat is archived as usual");
        Assert.That(archived.Any(t => t.Contains("DURING-CHECK to dave", StringComparison.Ordinal)), "what was sent to dave went to offline storage, held and archived as usual");
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task TooOldSilentErroringHugeAndMalformedClientsAreClosedAnUnloggedUserIsNot(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "carol", "dave", "grace"], null, exampleOrganizationXml: Approved, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        string[] refused = ["carol", "dave", "grace", "alice", "alice@example.test/err"];
        var (_, raw, closed) = await RunClosingAsync(world.Server, world.Dir,
            ConnectAnswering("carol", new { xml = Version("Slixmpp", "1.2.9") }),                       // too old
            ConnectAnswering("dave", new { silent = true }),                                             // never answers
            ConnectAnswering("grace", new { xml = Version("Slixmpp", "1.8." + new string('9', 20_000)) }), // huge
            ConnectAnswering("alice", new { xml = "<query xmlns='jabber:iq:version'><version>1.9</version></query>" }), // no name
            ConnectAnswering("alice@example.test/err", new { error = true }),                           // an error
            // bob is not logged: his client calls itself EvilClient and nobody asks.
            new { @as = Jid("bob"), @do = "connect", software = new { name = "EvilClient", version = "0.1" } },
            ExpectClosed("carol"), ExpectClosed("grace"), ExpectClosed("alice"), ExpectClosed("alice@example.test/err"),
            ExpectClosed("dave"),
            Chat("bob", "bob", "bob is unaffected"), Expect("bob", "bob", "bob is unaffected"));

        Assert.Multiple(() =>
        {
            foreach (var who in refused)
            {
                Assert.That((string?)closed[Jid(who)]?["condition"], Is.EqualTo("policy-violation"), who);
                Assert.That((string?)closed[Jid(who)]?["text"], Does.Contain("Slixmpp 1.8 or later"), who);
            }
            Assert.That((string?)closed[Jid("carol")]?["text"], Does.Contain("(Slixmpp 1.2.9) is older than the versions approved"), "a too old approved client is told to update");
            Assert.That(closed.ContainsKey(Jid("bob")), Is.False);
            Assert.That(Seen(raw, "bob"), Does.Not.Contain("jabber:iq:version"), "bob is not logged: his client is never asked");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(imlogger.Output, Does.Contain("Sign-in of dave@example.test/test REFUSED (unapproved-client: the client did not answer the version query in time"));
            Assert.That(imlogger.Output, Does.Contain("Sign-in of grace@example.test/test REFUSED (unapproved-client: the client answered the version query with"));
            Assert.That(imlogger.Output, Does.Contain("Sign-in of alice@example.test/test REFUSED (unapproved-client: the client's answer names no software"));
            Assert.That(imlogger.Output, Does.Contain("Sign-in of alice@example.test/err REFUSED (unapproved-client: the client answered the version query with an error"));
        });
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        foreach (var who in refused)
            Assert.That(archived, Does.Contain($"sign-in of {(who.Contains('/') ? who : Jid(who) + "/test")}"), who);
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task HostileAnswersPresenceBeforeTheAnswerAndASecondResource(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "carol", "dave"], null, exampleOrganizationXml: Approved, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var (received, raw, closed) = await RunClosingAsync(world.Server, world.Dir,
            Connect("bob"),
            // dave answers twice to the one query: first as EvilClient, then as an approved client. The first counts.
            ConnectAnswering("dave", new { xml = Version("EvilClient", "1.0"), second = Version("Slixmpp", "1.8.3") }),
            // carol (unapproved) sends a directed presence with a status before she answers: it is never routed to bob.
            ConnectAnswering("carol", new { xml = Version("EvilClient", "1.0"), delay = 1.5 }, "<presence to='bob@example.test/test'><status>CAROL-EARLY-PRESENCE</status></presence>"),
            // alice: an approved client on one resource, an unapproved one on a second resource of the same account.
            new { @as = "alice@example.test/one", @do = "connect" },
            ConnectAnswering("alice@example.test/two", new { xml = Version("EvilClient", "1.0"), delay = 1 }, "<presence to='bob@example.test/test'><status>ALICE-TWO-PRESENCE</status></presence>"),
            ExpectClosed("dave"), ExpectClosed("carol"), ExpectClosed("alice@example.test/two"),
            Chat("bob", "alice", "TO-ALICE-BARE"), Expect("alice@example.test/one", "bob", "TO-ALICE-BARE"),
            Chat("alice@example.test/one", "bob", "from alice's approved resource"), Expect("bob", "alice", "from alice's approved resource"),
            Pause());

        Assert.Multiple(() =>
        {
            Assert.That((string?)closed[Jid("dave")]?["condition"], Is.EqualTo("policy-violation"), "a second, approved-looking answer does not undo the first");
            Assert.That(closed.ContainsKey("alice@example.test/one"), Is.False, "alice's approved resource stays");
            Assert.That((string?)closed["alice@example.test/two"]?["condition"], Is.EqualTo("policy-violation"), "her unapproved second resource is closed");
            Assert.That(Seen(raw, "bob"), Does.Not.Contain("CAROL-EARLY-PRESENCE").And.Not.Contain("ALICE-TWO-PRESENCE"), "a presence sent before the answer is never routed");
            Assert.That(Seen(raw, "alice@example.test/two"), Does.Not.Contain("TO-ALICE-BARE"));
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(imlogger.Output, Does.Contain("Sign-in of dave@example.test/test REFUSED (unapproved-client: a client that calls itself 'EvilClient 1.0'"));
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task WhileImLoggerIsAwayANewSessionIsClosedFailClosed(string server)
    {
        // ImLogger never runs: the module cannot have the client judged, so fail-closed closes the session with its own
        // words (ImLogger's list is not known to it) once imlogger_timeout has passed, and delivers nothing to it meanwhile.
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, exampleOrganizationXml: Approved,
            attach: """<attach mode="inline" failure-mode="closed" timeout="2s" />""", server: server);
        var (_, raw, closed) = await RunClosingAsync(world.Server, world.Dir,
            Connect("bob"),
            new { @as = Jid("alice"), @do = "connect", wait = "none" },
            ExpectRaw("alice", "jabber:iq:version"),
            Chat("bob", "alice@example.test/test", "WHILE-AWAY to alice"),
            ExpectClosed("alice"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)closed[Jid("alice")]?["condition"], Is.EqualTo("policy-violation"));
            Assert.That((string?)closed[Jid("alice")]?["text"], Does.Contain("ImLogger could not check which client you use"));
            Assert.That(Seen(raw, "alice"), Does.Not.Contain("WHILE-AWAY"), "nothing reached the session it could not judge");
            Assert.That(world.Server.Log, Does.Contain("Closing alice@example.test/test (ImLogger did not judge it"));
        });
    }

    private static JsonObject[] Got(JsonObject received, string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();

    private static string Seen(JsonObject raw, string who) => string.Join('\n', (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x));
}

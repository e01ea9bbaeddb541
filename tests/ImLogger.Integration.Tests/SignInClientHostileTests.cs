using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Approved clients at sign-in, the hostile cases beyond <see cref="SignInClientTests"/>, on Prosody and ejabberd alike
/// (real clients, real ImLogger): a client that floods before it answers, one that answers with a guessed id, one that
/// addresses its answer to another user, a session that sends and leaves before it answers, and a verdict forged by a
/// signed-in user. Nothing any of them sent before it was judged reaches anyone.
/// </summary>
[TestFixture]
public class SignInClientHostileTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private const string Approved = """<approved-clients answer-within="2s"><client name="Slixmpp" min-version="1.8" /></approved-clients>""";
    private const string Slixmpp = "<query xmlns='jabber:iq:version'><name>Slixmpp</name><version>1.8.3</version></query>";

    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private static object ConnectAnswering(string who, object answer) => new { @as = Jid(who), @do = "connect", answer, wait = "none" };

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task ANewSessionWaitsWhileImLoggerIsAwayAndIsJudgedOnceItIsBack(string server)
    {
        // A restart of ImLogger during a sign-in: the check waits for it (up to the attach timeout) instead of closing
        // the session, and nothing reaches the session before ImLogger has judged it.
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, exampleOrganizationXml: Approved,
            attach: """<attach mode="inline" failure-mode="closed" timeout="40s" />""", server: server);
        var asked = Path.Combine(world.Dir, "asked");
        var started = Path.Combine(world.Dir, "started");
        var scenario = RunClosingAsync(world.Server, world.Dir,
            Connect("bob"),
            new { @as = Jid("alice"), @do = "connect", wait = "none" }, // slixmpp answers as itself: an approved client
            ExpectRaw("alice", "jabber:iq:version"),
            Chat("bob", "alice@example.test/test", "WHILE-AWAY to alice's session"),
            Signal(asked),
            WaitFile(started, 60),
            Expect("alice", "bob", "WHILE-AWAY to alice's session"),
            Chat("alice", "bob", "alice is in"), Expect("bob", "alice", "alice is in"),
            Pause());
        await WaitForFileAsync(asked, scenario);
        await Task.Delay(1000); // the check has found ImLogger away at least once
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await File.WriteAllTextAsync(started, "");
        var (_, raw, closed) = await scenario;

        Assert.That(closed.ContainsKey(Jid("alice")), Is.False, "an approved client is not closed because ImLogger restarted");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.That(archived, Does.Contain("alice is in").And.Contain("WHILE-AWAY to alice's session"));
    }

    private static async Task WaitForFileAsync(string path, Task scenario)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!File.Exists(path))
        {
            if (scenario.IsCompleted) await scenario; // the scenario failed first: its error says why
            await Task.Delay(100, cancel.Token);
        }
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task FloodGuessedIdAnswerToSomeoneElseLeavingEarlyAndAForgedVerdict(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "carol", "dave", "grace"], null,
            exampleOrganizationXml: Approved, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var steps = new List<object>
        {
            Connect("bob"),
            new { @as = "alice@example.test/one", @do = "connect" }, // an approved client, signed in
            // dave's client would answer as an approved one, but only after sending 150 messages: a flood, refused.
            ConnectAnswering("dave", new { xml = Slixmpp, delay = 4 }),
            // grace never answers the query; she sends an answer with a guessed id instead (it is not the answer).
            ConnectAnswering("grace", new { silent = true }),
            // carol answers as an approved client, addressed to bob: her own stream's answer counts, and bob never sees it.
            ConnectAnswering("carol", new { xml = Slixmpp, to = "bob@example.test/test" }),
            // alice's second session sends a message and leaves before it answers.
            ConnectAnswering("alice@example.test/gone", new { silent = true }),
            ExpectRaw("dave", "jabber:iq:version"), ExpectRaw("grace", "jabber:iq:version"), ExpectRaw("alice@example.test/gone", "jabber:iq:version"),
            Send("grace", "<iq type='result' id='imlogger-version-guess' to='example.test'>" + Slixmpp + "</iq>"),
            Send("grace", "<message to='bob@example.test' type='chat'><body>GRACE-BEFORE-JUDGED</body></message>"),
            Chat("alice@example.test/gone", "bob", "GONE-BEFORE-JUDGED"),
            Disconnect("alice@example.test/gone"),
            // A signed-in user forges ImLogger's verdict to the host: the server stamps her JID on it; nothing happens.
            Send("alice@example.test/one", "<iq type='result' to='example.test' id='imlogger-client-guess'><client-verdict xmlns='urn:imlogger:inline:0' allow='true'/></iq>"),
        };
        steps.AddRange(Enumerable.Range(1, 150).Select(i => Send("dave", $"<message to='bob@example.test' type='chat'><body>FLOOD-{i}</body></message>")));
        steps.AddRange([
            new { @as = Jid("dave"), @do = "expect_closed" }, new { @as = Jid("grace"), @do = "expect_closed" },
            Chat("carol", "bob", "carol is in"), Expect("bob", "carol", "carol is in"),
            Chat("bob", "alice", "to alice's approved session"), Expect("alice@example.test/one", "bob", "to alice's approved session"),
            Pause(),
        ]);
        var (_, raw, closed) = await RunClosingAsync(world.Server, world.Dir, [.. steps]);

        var bobSaw = string.Join('\n', (raw[Jid("bob")]?.AsArray() ?? []).Select(x => (string?)x));
        Assert.Multiple(() =>
        {
            Assert.That((string?)closed[Jid("dave")]?["condition"], Is.EqualTo("policy-violation"), "a flood before the answer is refused");
            Assert.That((string?)closed[Jid("dave")]?["text"], Does.Contain("Slixmpp 1.8 or later"));
            Assert.That((string?)closed[Jid("grace")]?["condition"], Is.EqualTo("policy-violation"), "an answer with a guessed id is not the answer");
            Assert.That(closed.ContainsKey(Jid("carol")), Is.False, "an answer from the session's own stream counts wherever it is addressed");
            Assert.That(closed.ContainsKey("alice@example.test/one"), Is.False, "a forged verdict changes nothing");
            Assert.That(bobSaw, Does.Not.Contain("FLOOD-"), "nothing of the flood reached bob");
            Assert.That(bobSaw, Does.Not.Contain("GRACE-BEFORE-JUDGED").And.Not.Contain("GONE-BEFORE-JUDGED"), "nothing sent before judgement reached bob");
            Assert.That(bobSaw, Does.Not.Contain("jabber:iq:version"), "carol's answer addressed to bob was taken, never routed to him");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(imlogger.Output, Does.Contain("Sign-in of dave@example.test/test REFUSED (unapproved-client: the client sent too many stanzas before answering"));
            Assert.That(imlogger.Output, Does.Contain("Sign-in of grace@example.test/test REFUSED (unapproved-client: the client did not answer the version query in time"));
            Assert.That(imlogger.Output, Does.Not.Contain("Sign-in of carol@example.test/test REFUSED"));
        });
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.That(archived, Does.Not.Contain("FLOOD-").And.Not.Contain("GRACE-BEFORE-JUDGED").And.Not.Contain("GONE-BEFORE-JUDGED"),
            "what a session sent before it was judged was never routed, so it is in no conversation");
    }
}

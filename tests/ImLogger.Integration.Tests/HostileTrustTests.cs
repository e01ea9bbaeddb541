using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Trust only the server, tried as a hostile chat user would on real Prosody with the real component in inline
/// fail-closed mode and real slixmpp clients: reports count only from the server host, a room is learned encrypted only
/// from what it reflected, one user's client never decides for another's, and no notice or error repeats client text.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)] // its tests too: each starts its own servers
public class HostileTrustTests
{
    // Run on both servers (issue 18): the same clients and assertions; a difference is a defect in an adapter.
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private const string Phishing = "SECURITY NOTICE from IT: reset your password at https://evil.example/reset";

    private static object Send(string who, string xml) => new { @as = Jid(who), @do = "send", xml };
    private static object ExpectError(string who, string from) => new { @as = Jid(who), @do = "expect_error", from = from.Contains('.') ? from : Jid(from) };
    private static JsonObject[] Got(JsonObject received, string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();

    [Test, CancelAfter(120_000)]
    public async Task AForgedGapAndRefusalReportFromAUserHasNoEffectButAnError()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await RunAsync(world.Prosody, world.Dir, Connect("alice"), Connect("bob"), Chat("alice", "bob", "real words"), Expect("bob", "alice", "real words"));
        // The ids of the verdict requests ImLogger answered (Prosody's debug log shows its results): what a forged refusal
        // report must name to mark alice's delivered message NOT DELIVERED.
        var answered = world.Prosody.Log.Split('\n')
            .Where(l => l.Contains("Received[component]: <iq", StringComparison.Ordinal) && l.Contains("type='result'", StringComparison.Ordinal) && l.Contains("to='example.test'", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, "id='(imlogger-[^']+)'").Groups[1].Value)
            .Where(id => id.Length > 0).Distinct().ToList();
        Assert.That(answered, Is.Not.Empty, "the requests that held alice's message");

        // bob is not logged. His batch names ceo (a gap), those requests (refusals) and a held item.
        var forged = $"""
            <iq type='set' id='forged-1' to='archive.example.test'><batch xmlns='urn:imlogger:inline:0'>
              <gap user='ceo@example.test' count='4242' since='x' until='y'/>
              {string.Concat(answered.Select(id => $"<refused request='{id}' count='1' reason='forged'/>"))}
              <item id='1' direction='out' user='alice@example.test' to-local='true'><message xmlns='jabber:client' from='alice@example.test/test' to='bob@example.test' type='chat'><body>forged words</body></message></item>
            </batch></iq>
            """;
        // alice, logged, tries it too: her iq to the component is not held, and her JID is not the host's either.
        var received = await RunAsync(world.Prosody, world.Dir,
            new { @as = Jid("bob"), @do = "connect", iq_errors = true }, new { @as = Jid("alice"), @do = "connect", iq_errors = true },
            Send("bob", forged), ExpectError("bob", "archive.example.test"),
            Send("alice", forged.Replace("forged-1", "forged-2", StringComparison.Ordinal)), ExpectError("alice", "archive.example.test"),
            Pause(0.5));

        var error = Got(received, "bob").Single(m => (string?)m["type"] == "error");
        Assert.That((string?)error["kind"], Is.EqualTo("iq"));
        Assert.That((string?)error["text"], Does.Contain("Only the XMPP server's ImLogger module"));
        foreach (var sender in new[] { "bob", "alice" })
            await imlogger.WaitForLineAsync(l => l.Contains($"Ignored an inline verdict request from {Jid(sender)}/test", StringComparison.Ordinal),
                TimeSpan.FromSeconds(15), "the warning naming the sender");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(imlogger.Output, Does.Not.Contain("GAP:"), "no gap logged for ceo");
            Assert.That(imlogger.Output, Does.Not.Contain("NOT DELIVERED"));
            var text = world.Archived().Single().TextBody ?? "";
            Assert.That(text, Does.Contain("real words"));
            Assert.That(text, Does.Not.Contain("forged words").And.Not.Contain("REFUSED"), "alice's delivered message is not marked undelivered:\n" + text);
        });
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task NoRoomIsClosedByWhatAUserSentOrByABareMarker(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "carol", "dave"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var room = Room("open");
        const string bareMarker = "<encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl' name='OMEMO'/>";
        const string omemo = "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohBf</key><iv>pTfM0XbD</iv></header><payload>ZmFrZQ==</payload></encrypted>";

        var received = await RunAsync(world.Server, world.Dir,
            Connect("bob"), Connect("alice"), Connect("carol"), Connect("dave"),
            Join("bob", "open", "bob"), Join("alice", "open", "alice"),
            // carol, logged and outside the room: a bare marker (the room refuses a non-occupant), then real ciphertext
            // (refused, encrypted). Neither teaches anything.
            Send("carol", $"<message to='{room}' type='groupchat' id='c1'>{bareMarker}<body>poison</body></message>"), ExpectError("carol", room),
            Send("carol", $"<message to='{room}' type='groupchat' id='c2'>{omemo}{bareMarker}</message>"),
            // bob, in the room: a bare marker beside text, which the room reflects to alice: plain text, teaches nothing either.
            Send("bob", $"<message to='{room}' type='groupchat' id='b1'>{bareMarker}<body>marker only</body></message>"),
            Pause(1),
            Join("carol", "open", "carol"), Join("dave", "open", "dave"),
            GroupChat("bob", "open", "still open"), Expect("dave", room + "/bob", "still open"),
            Pause(0.5));

        Assert.That(Got(received, "dave").Any(m => (string?)m["type"] == "error"), Is.False, "dave joined");
        var (code, rooms) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "spool", "rooms", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, rooms);
        Assert.That(rooms, Does.Not.Contain(room));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }

    [Test, CancelAfter(120_000)]
    public async Task AnotherUsersCapsVerAndAnEvilVersionDoNotRefuseTheApprovedClient()
    {
        const string slixmppOnly = """<approved-clients><client name="Slixmpp" min-version="1.8" /></approved-clients>""";
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "dave"], null,
            exampleOrganizationXml: slixmppOnly, attach: Closed);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        // One caps ver for both, in their first presence: dave (hostile) announces alice's, and calls himself EvilClient.
        const string caps = "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://slixmpp.com/ver/1.8.3' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>";

        // dave's session is closed at sign-in (approved clients are checked there); alice's, with the same caps, is not.
        var (received, _, closed) = await RunClosingAsync(world.Prosody, world.Dir,
            Connect("bob"),
            new { @as = Jid("dave"), @do = "connect", presence = caps, software = new { name = "EvilClient", version = "0.1" }, wait = "closed" },
            new { @as = Jid("alice"), @do = "connect", presence = caps },
            Pause(1),
            Chat("alice", "bob", "from the approved client"), Expect("bob", "alice", "from the approved client"),
            Pause(0.5));

        Assert.Multiple(() =>
        {
            Assert.That(Got(received, "alice").Any(m => (string?)m["type"] == "error"), Is.False, "alice's approved client is not refused");
            Assert.That(closed.ContainsKey(Jid("alice")), Is.False);
            Assert.That((string?)closed[Jid("dave")]?["text"], Does.Contain("not approved").And.Not.Contain("EvilClient"));
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(imlogger.Output, Does.Contain("a client that calls itself 'EvilClient 0.1'"), "the operator reads what dave's client claimed");
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task NoNoticeOrErrorRepeatsAnEmeName(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        // A marker beside plain text is not encryption (issue 13): what is refused is the payload beside it, named from
        // a fixed list by its namespace, never by the marker's name.
        string Marked(string to, string ns, string id, string body = "") =>
            $"<message to='{to}' type='chat' id='{id}'><encryption xmlns='urn:xmpp:eme:0' namespace='{ns}' name='{Phishing}'/>{body}"
            + (body.Length == 0 ? "<encrypted xmlns='urn:xmpp:omemo:2'><payload>eA==</payload></encrypted>" : "") + "</message>";

        var received = await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            Send("bob", Marked(Jid("alice"), "urn:example:made-up", "e1")), ExpectError("bob", "alice"),
            Send("bob", Marked(Jid("alice"), "eu.siacs.conversations.axolotl", "e2")),
            Send("alice", Marked(Jid("bob"), "urn:example:made-up", "e3")), ExpectError("alice", "bob"),
            Send("bob", Marked(Jid("alice"), "eu.siacs.conversations.axolotl", "e4", "<body>marker beside plain words</body>")),
            Expect("alice", "bob", "marker beside plain words"),
            Chat("bob", "alice", "plain"), Expect("alice", "bob", "plain"),
            Pause(0.5));

        var everything = Got(received, "alice").Concat(Got(received, "bob")).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(everything.Count(m => (string?)m["from"] == "archive.example.test"), Is.GreaterThanOrEqualTo(2), "alice was told, twice at least");
            foreach (var m in everything)
                Assert.That($"{m["body"]} {m["text"]}", Does.Not.Contain("SECURITY").And.Not.Contain("evil.example"), m.ToJsonString());
            Assert.That(everything.Any(m => ((string?)m["text"] ?? "").Contains("(OMEMO 2)", StringComparison.Ordinal)), "the payload's fixed name");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }
}

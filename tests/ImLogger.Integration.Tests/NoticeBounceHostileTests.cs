using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Bounces that are not what they claim, and bounces from places a test of the obvious case does not go, on real Prosody
/// and ejabberd (issue 18: the same scenarios and assertions). A transcript says "BOUNCED by the server; not delivered"
/// only for an error from exactly the address the message went to: the recipient's own client answering with an error
/// (a client always sends from its full JID, whatever it writes in <c>from</c>) or an error with an id alice never sent
/// marks nothing, and is kept as evidence. A message to a room that never existed, to an account written in capitals, and
/// to a logged address that has no account (held for it too, as with log-all, then bounced: on ejabberd the bounce carries
/// the released message's flag, on Prosody it goes straight to the sender's session) is marked like any bounce.
/// </summary>
[TestFixture]
public class NoticeBounceHostileTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";
    private const string Condition = "<error type='cancel' by='example.test'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";

    private static readonly string[] Servers = ["prosody", "ejabberd"];
    // Her session: both servers drop a message error sent to a bare JID (RFC 6121 8.5.2.1.1).
    private const string Alice = "alice@example.test/test";

    private static string Seen(System.Text.Json.Nodes.JsonObject raw, string who) => string.Join('\n', (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x));

    private static object ChatWithId(string from, string to, string id, string body) =>
        Send(from, $"<message type='chat' to='{to}' id='{id}'><body>{body}</body></message>");

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task OnlyTheServersErrorFromTheAddressWrittenToMarksAMessageBounced(string server)
    {
        var neverRoom = Room("never-was");
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "ghost"], null, attach: Inline, server: server,
            organizationAttributes: $"group-chat-hosts=\"{ProsodyServer.Muc}\"");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var (_, raw, closed) = await RunClosingAsync(world.Server, world.Dir,
            Connect("bob"), Connect("alice"),
            ChatWithId("alice", "bob@example.test", "to-bob-1", "bob got this one"), ExpectRaw("bob", "to-bob-1"),
            // Bob's client claims the message bounced: once as itself, once writing his bare address (what a server bounce
            // comes from) into `from`; both servers stamp his full JID on it all the same.
            ErrorBack("bob", "to-bob-1", Alice), ExpectRaw("alice", "to-bob-1"),
            ChatWithId("alice", "bob@example.test", "to-bob-2", "and this one too"), ExpectRaw("bob", "to-bob-2"),
            Send("bob", $"<message type='error' from='bob@example.test' to='{Alice}' id='to-bob-2'>{Condition}</message>"),
            ExpectRaw("alice", "to-bob-2"),
            // An error for an id alice never sent.
            Send("bob", $"<message type='error' to='{Alice}' id='never-sent-by-alice'>{Condition}</message>"),
            ExpectRaw("alice", "never-sent-by-alice"),
            // The server's own bounces: an account written in capitals, a room that never existed.
            ChatWithId("alice", "Nobody@Example.test", "to-nobody-caps", "shouting at nobody"), ExpectRaw("alice", "to-nobody-caps"),
            Send("alice", $"<message type='groupchat' to='{neverRoom}' id='to-never-room'><body>is this the board?</body></message>"),
            ExpectRaw("alice", "to-never-room"),
            ChatWithId("alice", "ghost@example.test", "to-ghost", "a logged address without an account"), ExpectRaw("alice", "to-ghost"),
            // Last, as it may cost bob his session: his client claims to be the server itself. Prosody stamps his full JID
            // over it; ejabberd closes his stream (invalid-from). Either way it marks nothing.
            ChatWithId("alice", "bob@example.test", "to-bob-3", "a third one for bob"), ExpectRaw("bob", "to-bob-3"),
            Send("bob", $"<message type='error' from='example.test' to='{Alice}' id='to-bob-3'>{Condition}</message>"),
            Pause(1.5));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        TestContext.Out.WriteLine("bob closed by the server: " + closed);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").ReplaceLineEndings("\n").Split('\n')).ToList();
        var text = string.Join("\n", lines);
        // The message's own line: ejabberd's bounce carries the message's body back, and the error's line shows it too.
        TestContext.Out.WriteLine(text);
        string Line(string contains) => lines.SingleOrDefault(l => l.Contains(contains, StringComparison.Ordinal) && !l.Contains("error message (", StringComparison.Ordinal)) ?? "";
        Assert.Multiple(() =>
        {
            Assert.That(Line("bob got this one"), Does.Not.Contain("BOUNCED"), "bob's client erroring a message it got is no bounce:\n" + text);
            Assert.That(Line("and this one too"), Does.Not.Contain("BOUNCED"), "nor is one that writes bob's bare address into from:\n" + text);
            Assert.That(Line("a third one for bob"), Does.Not.Contain("BOUNCED"), "nor one that claims to come from the server:\n" + text);
            Assert.That(text, Does.Not.Contain("* example.test"), "no error is archived as the server's own");
            if (server == "ejabberd")
                Assert.That((string?)closed[Jid("bob")]?["condition"], Is.EqualTo("invalid-from"), "ejabberd closes a client that claims another address");
            else
                Assert.That(lines.Any(l => l.Contains("* bob@example.test/test -> alice", StringComparison.Ordinal) && l.Contains("id=\"to-bob-3\"", StringComparison.Ordinal)),
                    "Prosody stamps bob's full JID over the claim, and the error is archived as his:\n" + text);
            Assert.That(lines.Count(l => l.Contains("* bob@example.test/test -> alice@example.test sent a stanza", StringComparison.Ordinal)
                                         && l.Contains("error message (cancel/", StringComparison.Ordinal)
                                         && !l.Contains("id=\"to-bob-3\"", StringComparison.Ordinal)), Is.EqualTo(3),
                "bob's three errors reached alice held and are archived as evidence, bare as they are:\n" + text);
            Assert.That(Line("shouting at nobody"), Does.Contain("[BOUNCED by the server: cancel/service-unavailable; not delivered]"), text);
            Assert.That(Line("is this the board?"), Does.Contain("[BOUNCED by the server: cancel/item-not-found; not delivered]"), text);
            Assert.That(Line("a logged address without an account"), Does.Contain("[BOUNCED by the server: cancel/service-unavailable; not delivered]"), text);
            Assert.That(lines.Count(l => l.Contains("[BOUNCED by the server:", StringComparison.Ordinal)), Is.EqualTo(3),
                "only the server's three bounces mark a message:\n" + text);
            Assert.That(Seen(raw, "alice"), Does.Contain("never-sent-by-alice"), "what was held is delivered once allowed");
        });
    }
}

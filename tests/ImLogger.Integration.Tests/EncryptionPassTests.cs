using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The encryption pass on real Prosody with real clients (issue 13): encrypted content in shapes a first-child classifier
/// missed (OMEMO 1 with a fallback body, OMEMO in a forged carbon, in a directed presence, in an iq result, OTR in a second
/// language's body or after a space), sent by alice (logged) and to her. Inline fail-closed: none is delivered. Tap: each is
/// archived as an encrypted attempt with its scheme. And a group chat message whose delay a client wrote is live: delivered
/// and archived, while the same with an OMEMO payload is refused; room history replayed to alice on joining is archived
/// as history, and its OMEMO message is refused.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)] // its tests too: each starts its own servers
public class EncryptionPassTests
{
    // Run on both servers (issue 18): the same clients and assertions; a difference is a defect in an adapter.
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="3s" />""";

    private static string Omemo(string ns, string payload) =>
        $"<encrypted xmlns='{ns}'><header sid='1'><key rid='2'>a2V5</key><iv>aXY=</iv></header><payload>{payload}</payload></encrypted>";

    /// <summary>Each shape from <paramref name="sender"/> to <paramref name="to"/>; every marker (an X...X payload) must never arrive.</summary>
    private static IEnumerable<object> Shapes(string sender, string to, string dir)
    {
        yield return Send(sender, $"<message to='{to}' type='chat' id='o1-{dir}'>{Omemo("urn:xmpp:omemo:1", $"XOMEMO1{dir}X")}<body>I sent you an OMEMO encrypted message</body></message>");
        yield return Send(sender, $"<message to='{to}' type='chat' id='cc-{dir}'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
                                  + $"<message xmlns='jabber:client' from='{to}' to='{Jid(sender)}' type='chat'>{Omemo("urn:xmpp:omemo:2", $"XCARBON{dir}X")}</message></forwarded></received></message>");
        yield return Send(sender, $"<presence to='{to}'>{Omemo("eu.siacs.conversations.axolotl", $"XPRESENCE{dir}X")}</presence>");
        yield return Send(sender, $"<iq type='result' to='{to}' id='iqr-{dir}'>{Omemo("urn:xmpp:omemo:2", $"XIQRESULT{dir}X")}</iq>");
        yield return Send(sender, $"<message to='{to}' type='chat' id='otl-{dir}'><body>hi</body><body xml:lang='de'>?OTR:XOTRLANG{dir}X.</body></message>");
        yield return Send(sender, $"<message to='{to}' type='chat' id='ots-{dir}'><body>  ?OTR:XOTRSPACE{dir}X.</body></message>");
    }

    private static readonly string[] Kinds = ["XOMEMO1", "XCARBON", "XPRESENCE", "XIQRESULT", "XOTRLANG", "XOTRSPACE"];

    private static List<object> Scenario()
    {
        string alice = Jid("alice"), bob = Jid("bob");
        var room = Room("enc");
        var steps = new List<object> { Connect("alice"), Connect("bob"), Join("alice", "enc", "alice"), Join("bob", "enc", "bob") };
        steps.AddRange(Shapes("alice", bob + "/test", "OUT"));
        steps.AddRange(Shapes("bob", alice + "/test", "IN"));
        // Group chat from bob (not logged), with a delay he wrote himself: live, not history.
        steps.Add(Send("bob", $"<message to='{room}' type='groupchat' id='dl'><body>DELAYLIVE words</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>"));
        steps.Add(Send("bob", $"<message to='{room}' type='groupchat' id='de'><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>{Omemo("urn:xmpp:omemo:2", "XDELAYENCX")}</message>"));
        // Plain controls, sent last: once they arrive, everything before them was decided.
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat' id='ctl-out'><body>CONTROLOUT</body></message>"));
        steps.Add(Send("bob", $"<message to='{alice}/test' type='chat' id='ctl-in'><body>CONTROLIN</body></message>"));
        steps.Add(ExpectRaw("bob", "CONTROLOUT"));
        steps.Add(ExpectRaw("alice", "CONTROLIN"));
        steps.Add(ExpectRaw("alice", "DELAYLIVE"));
        steps.Add(Pause());
        return steps;
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task InlineFailClosedDeliversNoEncryptedShapeEitherWay(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir, [.. Scenario()]);
        string Seen(string who) => string.Join('\n', (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x));
        var bobSaw = Seen("bob");
        var aliceSaw = Seen("alice");
        Assert.Multiple(() =>
        {
            foreach (var kind in Kinds)
            {
                Assert.That(bobSaw, Does.Not.Contain(kind + "OUTX"), $"{kind} from alice is refused");
                Assert.That(aliceSaw, Does.Not.Contain(kind + "INX"), $"{kind} to alice is refused");
            }
            Assert.That(aliceSaw, Does.Not.Contain("XDELAYENCX"), "an encrypted group chat message with a client's delay is refused");
            Assert.That(aliceSaw, Does.Contain("DELAYLIVE"), "a client's delay is a live message, delivered");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.That(archived, Does.Contain("DELAYLIVE words"), "a client's delay is archived like a live message");
    }

    /// <summary>Room history from bob (not logged), replayed by Prosody when alice (logged) joins asking for it: the plain
    /// message is delivered and archived marked as history; the OMEMO one (with the fallback body clients add, which is
    /// what makes Prosody keep it in history) is never delivered.</summary>
    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task InlineFailClosedRefusesEncryptedRoomHistoryAndArchivesThePlainAsHistory(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed, server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var room = Room("hist");
        object[] steps =
        [
            Connect("alice"), Connect("bob"), Join("bob", "hist", "bob"),
            // Sent before alice is in the room: only the room's history holds them. The encrypted one first, so that once the
            // plain one reaches alice the encrypted one was decided.
            Send("bob", $"<message to='{room}' type='groupchat' id='he'>{Omemo("urn:xmpp:omemo:2", "XHISTENCX")}<body>I sent you an OMEMO encrypted message</body></message>"),
            Send("bob", $"<message to='{room}' type='groupchat' id='hp'><body>HISTPLAIN words</body></message>"),
            Pause(0.5),
            JoinWithHistory("alice", "hist", "alice", 20),
            ExpectRaw("alice", "HISTPLAIN"),
            Pause(),
        ];
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir, steps);
        var aliceSaw = string.Join('\n', (raw[Jid("alice")]?.AsArray() ?? []).Select(x => (string?)x));
        Assert.That(aliceSaw, Does.Not.Contain("XHISTENCX"), "encrypted room history is not delivered to a logged user");
        Assert.That(aliceSaw, Does.Not.Contain("I sent you an OMEMO encrypted message"), "nor its fallback body");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        var line = archived.Split('\n').FirstOrDefault(l => l.Contains("HISTPLAIN words", StringComparison.Ordinal));
        Assert.That(line, Does.Contain("(room history, originally sent"), archived);
    }

    [Test, CancelAfter(120_000)]
    public async Task TapArchivesEachShapeAsAnEncryptedAttemptWithItsScheme()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await RunCollectingAsync(world.Prosody, world.Dir, [.. Scenario()]);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            foreach (var scheme in new[] { "OMEMO 1", "OMEMO 2", "OMEMO", "OTR" })
                Assert.That(archived, Does.Contain($"[end-to-end encrypted message ({scheme})"), scheme);
            Assert.That(archived, Does.Contain("DELAYLIVE words"), "a client's delay is archived like a live message");
            Assert.That(archived, Does.Not.Contain("room history"), "and not marked as history");
        });
        // Every shape, both ways: twelve encrypted attempts, plus the group chat one.
        var attempts = archived.Split('\n').Count(l => l.Contains("[end-to-end encrypted message (", StringComparison.Ordinal));
        Assert.That(attempts, Is.GreaterThanOrEqualTo(13), archived);
    }
}

using System.Text;
using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Per-stanza limits, never per-connection, on real Prosody with real clients and the real component: a logged user's
/// chat message nested 130 deep and one over max-stanza-bytes (64 KiB here, below Prosody's own 256 KiB c2s limit) are
/// handled alone, and an innocent logged user's 100 messages that follow all get through and are archived, with the
/// component never reconnecting. Inline mode also shows a group chat message split over several requests, and one too
/// large for any request refused by itself.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)] // its tests too: each starts its own servers
public class HostileStanzaTests
{
    private const int MaxStanzaBytes = 64 * 1024;
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";

    private static object Send(string who, string xml) => new { @as = Jid(who), @do = "send", xml };
    private static object ExpectError(string who, string from) => new { @as = Jid(who), @do = "expect_error", from = Jid(from) };

    /// <summary>A chat message whose payload nests <paramref name="levels"/> elements deep.</summary>
    private static string Deep(string to, int levels = 130)
    {
        var sb = new StringBuilder($"<message to='{Jid(to)}' type='chat' id='deep-1'><body>deep one</body>");
        for (var i = 0; i < levels; i++) sb.Append("<x xmlns='urn:example:nest'>");
        sb.Append("bottom");
        for (var i = 0; i < levels; i++) sb.Append("</x>");
        return sb.Append("</message>").ToString();
    }

    /// <summary>A chat message of about 100 KB: over max-stanza-bytes, under Prosody's c2s limit.</summary>
    private static string Huge(string to) =>
        $"<message to='{Jid(to)}' type='chat' id='huge-1'><body>huge one {new string('h', 100 * 1024)}</body></message>";

    private static readonly string[] Innocent = Enumerable.Range(1, 100).Select(i => $"innocent {i:D3}").ToArray();

    /// <summary>A world whose component limit is <see cref="MaxStanzaBytes"/>: the config gets max-stanza-bytes, the module
    /// its imlogger_max_batch_bytes (prosody-config again), and Prosody restarts to load it.</summary>
    private static async Task<TapDeployment> StartAsync(string[] logged, string? attach, string server = "prosody")
    {
        var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged, null, attach: attach, server: server);
        File.WriteAllText(world.ConfigPath, File.ReadAllText(world.ConfigPath)
            .Replace("<component ", $"<component max-stanza-bytes=\"{MaxStanzaBytes}\" ", StringComparison.Ordinal));
        var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "server-config", "--config", world.ConfigPath, "--out", Path.Combine(world.Dir, "tap"));
        Assert.That(code, Is.Zero, output);
        await world.Server.StopAsync();
        await world.Server.StartAsync();
        return world;
    }

    // The inline cases run on both servers (issue 18): the same clients and assertions; a difference is an adapter defect.
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private static object[] HostileThenInnocent(params object[] hostile)
    {
        var steps = new List<object> { Connect("alice"), Connect("bob"), Connect("carol") };
        steps.AddRange(hostile);
        steps.AddRange(Innocent.Select(m => Chat("bob", "carol", m)));
        steps.Add(Expect("carol", "bob", Innocent[^1]));
        steps.Add(Pause());
        return [.. steps];
    }

    private static JsonObject[] Got(JsonObject received, string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();

    private static string[] BodiesFrom(JsonObject received, string who, string from) =>
        Got(received, who).Where(m => (string?)m["type"] != "error" && ((string?)m["from"])!.StartsWith(Jid(from), StringComparison.Ordinal)).Select(m => (string)m["body"]!).ToArray();

    private static string Transcript(TapDeployment world, string key) =>
        world.Archived().Where(m => m.Headers["X-ImLogger-Conversation"] == key).Select(m => m.TextBody ?? "").Single();

    /// <summary>One stream from start to stop: connected once, never dropped.</summary>
    private static void AssertNeverReconnected(ProcessRunner imlogger)
    {
        Assert.That(imlogger.Lines.Count(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal)), Is.EqualTo(1), imlogger.Output);
        Assert.That(imlogger.Lines.Where(l => l.Contains("retrying in", StringComparison.Ordinal) || l.Contains("dropped the connection", StringComparison.Ordinal)), Is.Empty);
    }

    [Test, CancelAfter(180_000)]
    public async Task Tap_DeepAndHugeStanzasAreRecordedAlone_AndAnInnocentUsersHundredMessagesAreAllArchived()
    {
        await using var world = await StartAsync(["alice", "bob"], attach: null);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var received = await RunAsync(world.Prosody, world.Dir, HostileThenInnocent(
            Send("alice", Deep("carol")), Send("alice", Huge("carol"))));
        Assert.That(BodiesFrom(received, "carol", "bob"), Is.EqualTo(Innocent));

        await ImLoggerProcess.WaitSpooledAsync(imlogger, Innocent.Length + 2);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        AssertNeverReconnected(imlogger);
        var innocent = Transcript(world, "bob@example.test carol@example.test");
        foreach (var m in Innocent) Assert.That(innocent, Does.Contain(m), "every innocent message is archived");
        var hostile = Transcript(world, "alice@example.test carol@example.test").ReplaceLineEndings("\n").Split('\n')
            .Where(l => l.Contains("over ImLogger's limits", StringComparison.Ordinal)).ToArray();
        Assert.That(hostile, Has.Length.EqualTo(2), "each hostile stanza is a record of what it was");
        Assert.That(hostile[0], Does.Contain("alice@example.test/test -> carol@example.test").And.Contain("chat message of").And.Contain("nested 131 levels deep: over the limit of 128 levels")
            .And.Contain("\"deep one bottom\""));
        Assert.That(hostile[1], Does.Contain("chat message").And.Contain("over the limit of 65,536 bytes (max-stanza-bytes)").And.Contain("\"huge one hhhh"));
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task InlineFailClosed_DeepAndHugeStanzasAreRefusedAlone_AndAnInnocentUsersHundredMessagesAreDeliveredAndArchived(string server)
    {
        await using var world = await StartAsync(["alice", "bob"], Closed, server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var received = await RunAsync(world.Server, world.Dir, HostileThenInnocent(
            Send("alice", Deep("carol")), ExpectError("alice", "carol"),
            Send("alice", Huge("carol")), new { @as = Jid("alice"), @do = "sleep", seconds = 0.5 },
            Send("carol", Deep("bob")), ExpectError("carol", "bob")));   // the other way: held for bob on its way in

        Assert.Multiple(() =>
        {
            Assert.That(BodiesFrom(received, "carol", "bob"), Is.EqualTo(Innocent), "all 100 delivered, in order");
            Assert.That(BodiesFrom(received, "carol", "alice"), Is.Empty, "neither hostile stanza was delivered");
            var errors = Got(received, "alice").Where(m => (string?)m["type"] == "error").Select(m => (string?)m["text"]).ToArray();
            Assert.That(errors, Has.Length.EqualTo(2));
            Assert.That(errors, Has.Some.Contains("too deeply nested (the limit is 128 levels) to be archived"));
            Assert.That(errors, Has.Some.Contains("too large to be archived"));
            var notices = Got(received, "alice").Where(m => (string?)m["from"] == "archive.example.test").Select(m => (string?)m["body"]).ToArray();
            Assert.That(notices, Has.Some.Contains("to carol@example.test was not delivered: it was too deeply nested"));
            Assert.That(notices, Has.Some.Contains("to carol@example.test was not delivered: it was too large"));
            Assert.That(BodiesFrom(received, "bob", "carol"), Is.Empty, "bob never got carol's deep message");
            Assert.That(Got(received, "carol").Single(m => (string?)m["type"] == "error")["text"]?.ToString(),
                Does.StartWith("bob@example.test is logged for compliance, and this message is too deeply nested"));
            Assert.That(Got(received, "bob").Where(m => (string?)m["from"] == "archive.example.test").Select(m => (string?)m["body"]),
                Has.Some.EqualTo("A message from carol@example.test to you was not delivered: it was too deeply nested (the limit is 128 levels) to be archived."));
        });

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        AssertNeverReconnected(imlogger);
        var innocent = Transcript(world, "bob@example.test carol@example.test");
        foreach (var m in Innocent) Assert.That(innocent, Does.Contain(m), "every innocent message is archived");
        var refused = Transcript(world, "alice@example.test carol@example.test");
        Assert.That(refused, Does.Contain("REFUSED, not delivered").And.Contain("over-limit: chat message of").And.Contain("nested 131 levels deep: over the limit of 128 levels"),
            "the deep one reached ImLogger, which refused it alone and archived the refusal");
        Assert.That(world.Server.Log, Does.Contain("by itself: "), "the huge one never left the server: the module refused it");
    }

    [Test, CancelAfter(180_000)]
    public async Task InlineFailClosed_AGroupChatMessageForManyLoggedOccupantsIsSplitOverRequests_OneTooLargeForAnyIsRefusedAlone()
    {
        await using var world = await StartAsync(["alice", "bob", "dave", "grace"], Closed);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        // 40 KB each: four logged occupants make 160 KB of held copies, far over one 64 KiB request.
        var big = "big " + new string('b', 40 * 1024);
        var tooBig = "too big " + new string('t', 200 * 1024);
        string[] occupants = ["alice", "bob", "dave", "grace", "carol"];
        var steps = new List<object>();
        steps.AddRange(occupants.Select(o => Connect(o)));
        steps.AddRange(occupants.Select(o => Join(o, "team", o)));
        steps.Add(GroupChat("carol", "team", big));
        steps.AddRange(occupants.Select(o => Expect(o, Room("team") + "/carol", big)));
        steps.Add(Send("alice", $"<message to='{Room("team")}' type='groupchat' id='too-big'><body>{tooBig}</body></message>"));
        steps.Add(ExpectError("alice", Room("team")));
        steps.Add(GroupChat("bob", "team", "after the big ones"));
        steps.AddRange(occupants.Select(o => Expect(o, Room("team") + "/bob", "after the big ones")));
        steps.Add(Pause());
        var received = await RunAsync(world.Prosody, world.Dir, [.. steps]);

        Assert.Multiple(() =>
        {
            foreach (var o in occupants)
                Assert.That(BodiesFrom(received, o, Room("team") + "/alice"), Is.Empty, $"{o} never got the message too large to archive");
            Assert.That(Got(received, "alice").Single(m => (string?)m["type"] == "error")["text"]?.ToString(), Does.Contain("too large to be archived"));
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        AssertNeverReconnected(imlogger);
        var room = Transcript(world, Room("team"));
        Assert.That(room, Does.Contain(big[..100]).And.Contain("after the big ones"));
        Assert.That(imlogger.Output, Does.Not.Contain("over a per-stanza limit"), "the module kept every request under the component's limit");
    }
    [Test, CancelAfter(180_000)]
    public async Task InlineFailClosed_AnAdapterThatDoesNotSplit_GetsTheRequestCutNotTheStreamDropped()
    {
        await using var world = await StartAsync(["alice", "bob", "dave", "grace"], Closed);
        // An operator's mistake: the adapter believes the component takes 1 MiB requests.
        var snippet = Path.Combine(world.Dir, "tap", "imlogger.cfg.lua");
        File.WriteAllText(snippet, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(snippet), @"imlogger_max_batch_bytes = \d+", "imlogger_max_batch_bytes = 1048576"));
        await world.Prosody.StopAsync();
        await world.Prosody.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var big = "big " + new string('b', 40 * 1024);
        string[] logged = ["alice", "bob", "dave", "grace"];
        var steps = new List<object> { Connect("carol") };
        steps.AddRange(logged.Select(o => Connect(o)));
        steps.Add(Join("carol", "team", "carol"));
        steps.AddRange(logged.Select(o => Join(o, "team", o)));
        steps.Add(GroupChat("carol", "team", big)); // held four times in one request of about 165 KB
        steps.Add(Pause(2));
        steps.Add(Chat("alice", "bob", "the stream is alive"));
        steps.Add(Expect("bob", "alice", "the stream is alive"));
        var received = await RunAsync(world.Prosody, world.Dir, [.. steps]);

        var got = logged.Count(o => BodiesFrom(received, o, Room("team") + "/carol").Contains(big));
        Assert.That(got, Is.InRange(1, 3), "the copies read whole before the cut are delivered, the others refused");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        AssertNeverReconnected(imlogger);
        Assert.That(imlogger.Output, Does.Contain("was over a per-stanza limit").And.Contain("imlogger_max_batch_bytes"), "the operator is told what to fix");
        var room = Transcript(world, Room("team"));
        Assert.That(room, Does.Contain(big[..100]), "what was delivered is archived");
        Assert.That(room, Does.Contain("REFUSED, not delivered").And.Contain("over-limit"), "the copy the cut fell in is refused and archived as such");
        Assert.That(Transcript(world, "alice@example.test bob@example.test"), Does.Contain("the stream is alive"));
    }
    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task InlineFailOpen_WithImLoggerDown_AStanzaTooLargeToArchiveIsStillRefused(string server)
    {
        await using var world = await StartAsync(["alice"], """<attach mode="inline" failure-mode="open" timeout="2s" />""", server);
        // No imlogger at all: fail-open delivers held stanzas unlogged, but never one ImLogger could not have archived.
        var received = await RunAsync(world.Server, world.Dir,
            Connect("alice"), Connect("carol"),
            Send("alice", Huge("carol")), ExpectError("alice", "carol"),
            Chat("alice", "carol", "small passes unlogged"), Expect("carol", "alice", "small passes unlogged"));
        Assert.That(BodiesFrom(received, "carol", "alice"), Is.EqualTo(new[] { "small passes unlogged" }));
        Assert.That(Got(received, "alice").Single(m => (string?)m["type"] == "error")["text"]?.ToString(), Does.Contain("too large to be archived"));
    }
}

using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.InlineRestartDrillTests;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Scale-out (issue 18, docs/scale-out.md) on real Prosody 0.12 and real ejabberd 23.01: two real <c>imlogger</c> processes, each its own
/// component (archive.example.test, archive2.example.test) with its own spool and archive, and the server's module
/// configured by `imlogger server-config` from a config with <c>&lt;scale-out&gt;</c>. Logged users chat one-to-one and in
/// rooms; each conversation must be archived whole by the instance the documented hash picks (never split), both
/// instances must get a share, and with fail-closed the share of a stopped instance is held until it is back while the
/// other instance's conversations flow on.
/// </summary>
/// <remarks>
/// Runs beside other fixtures, not alone with the drills: nothing here is paced or measured against a rate. Each case
/// starts its own server and instances on free ports in its own folder, the hold timeout (60 s) is far longer than an
/// instance's restart on a loaded machine, and every wait is for an event (a delivery, a log line) with a deadline
/// against a hang. Alone it held the suite's serial tail for about a minute of its 13 cases.
/// </remarks>
[TestFixture]
public partial class ScaleOutTests
{
    private const string First = "archive.example.test";
    private const string Second = "archive2.example.test";
    private const string Attach = """<attach mode="inline" failure-mode="closed" timeout="60s" />""";
    private const string NoNotices = """<notifications inside="off" outside="off" />""";
    private const int Pairs = 8;
    private const int Rooms = 4;

    private static string Sender(int i) => $"so{i:D2}";
    private static string Peer(int i) => $"pe{i:D2}";
    private static string RoomSender(int i) => $"sr{i:D2}";
    private static string RoomPeer(int i) => $"pr{i:D2}";
    private static string RoomJid(int i) => $"room{i}@{ProsodyServer.Muc}";

    /// <summary>The module's routing, as docs/scale-out.md writes it: FNV-1a (32 bits) of the conversation key, scaled to
    /// the number of instances; 0 is the first component of the list.</summary>
    internal static int Bucket(string key, int instances) => (int)((ulong)Hash(key) * (ulong)instances >> 32);

    // The same scenarios on both servers (issue 18): ejabberd routes with mod_imlogger_lanes.erl, Prosody with the
    // lanes of mod_imlogger_inline.lua; a difference is a defect in an adapter.
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private static string PairKey(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? $"{a} {b}" : $"{b} {a}";

    /// <summary>The second instance's folder: the world's config with its own component JID; there its spool and archive.</summary>
    private static string SecondInstance(TapDeployment world)
    {
        var dir = Path.Combine(world.Dir, "second");
        Directory.CreateDirectory(dir);
        var xml = File.ReadAllText(world.ConfigPath).Replace($"jid=\"{First}\"", $"jid=\"{Second}\"", StringComparison.Ordinal);
        var path = Path.Combine(dir, "imlogger.xml");
        File.WriteAllText(path, xml);
        return path;
    }

    private static IReadOnlyList<MimeKit.MimeMessage> Archived(string archiveDir) =>
        Directory.Exists(archiveDir) ? Directory.GetFiles(archiveDir, "*.eml").Order().Select(f => MimeKit.MimeMessage.Load(f)).ToList() : [];

    /// <summary>body -> how many times an archive holds it.</summary>
    private static Dictionary<string, int> Bodies(IEnumerable<MimeKit.MimeMessage> archive) =>
        archive.SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(x => x.Value))
            .GroupBy(b => b, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    [TestCaseSource(nameof(Servers)), CancelAfter(300_000)]
    public async Task ConversationsSpreadOverTwoInstances_EachArchivedWholeByOne_AStoppedInstancesShareIsHeldNotRefused(string server)
    {
        var logged = Enumerable.Range(1, Pairs).Select(Sender).Concat(Enumerable.Range(1, Rooms).Select(RoomSender)).ToArray();
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged,
            $"""<scale-out components="{First} {Second}" />""", NoNotices, attach: Attach, seats: logged.Length, server: server,
            moreAccounts: [.. logged, .. Enumerable.Range(1, Pairs).Select(Peer), .. Enumerable.Range(1, Rooms).Select(RoomPeer)]);
        AssertRulesListBothInstances(world, server);

        // Which instance each conversation belongs to, by the documented hash.
        var conversations = new List<(string Key, int Bucket, RawXmppClient Sender, string To, bool Room, RawXmppClient Receiver)>();
        var secondConfig = SecondInstance(world);
        var firstRun = world.RunImLogger("imlogger-1", logLevel: "Info");
        var secondRun = world.Own(ImLoggerProcess.Run(secondConfig, TapDeployment.Secret, "imlogger-2", "Info"));
        ProcessRunner? secondAgain = null;
        var clients = new List<RawXmppClient>();
        try
        {
            await ImLoggerProcess.WaitConnectedAsync(firstRun);
            await ImLoggerProcess.WaitConnectedAsync(secondRun);
            for (var i = 1; i <= Pairs; i++)
            {
                var sender = await RawXmppClient.LoginAsync(world.Server, Sender(i));
                var peer = await RawXmppClient.LoginAsync(world.Server, Peer(i));
                clients.AddRange([sender, peer]);
                var key = PairKey(ClientScenario.Jid(Sender(i)), ClientScenario.Jid(Peer(i)));
                conversations.Add((key, Bucket(key, 2), sender, Peer(i), false, peer));
            }
            for (var i = 1; i <= Rooms; i++)
            {
                var sender = await RawXmppClient.LoginAsync(world.Server, RoomSender(i));
                var peer = await RawXmppClient.LoginAsync(world.Server, RoomPeer(i));
                clients.AddRange([sender, peer]);
                await peer.SendRawAsync($"<presence to='{RoomJid(i)}/peer'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
                await sender.SendRawAsync($"<presence to='{RoomJid(i)}/sender'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
                conversations.Add((RoomJid(i), Bucket(RoomJid(i), 2), sender, RoomJid(i), true, peer));
            }
            // Private messages through each room (to room/peer): ImLogger keys them as a pair with the occupant, the module
            // routes them by the room, so the room's instance has the whole of them (docs/scale-out.md, "The conversation key").
            for (var i = 1; i <= Rooms; i++)
            {
                var (_, _, sender, _, _, peer) = conversations[Pairs + i - 1];
                conversations.Add((RoomJid(i), Bucket(RoomJid(i), 2), sender, $"{RoomJid(i)}/peer", false, peer));
            }
            Assert.That(Enumerable.Range(1, Rooms).Any(i => Bucket(RoomJid(i), 2) != Bucket(PairKey(RoomJid(i), ClientScenario.Jid(RoomSender(i))), 2)), Is.True,
                "a room whose private messages would go to the other instance if the module routed them by the pair");
            Assert.That(conversations.Select(c => c.Bucket).Distinct().Count(), Is.EqualTo(2),
                "the chosen names give each instance a share (the hash is fixed, so this holds or fails every run)");
            await Task.Delay(1000); // the joins settle before the rooms' first messages

            var sent = new Dictionary<string, int>(StringComparer.Ordinal); // body -> conversation index
            var next = 0;
            async Task SendRoundAsync(IEnumerable<int> which)
            {
                foreach (var c in which)
                {
                    var (_, _, sender, to, room, _) = conversations[c];
                    var body = $"drill-{next++}";
                    sent[body] = c;
                    if (room) await sender.SendRawAsync($"<message to='{to}' type='groupchat' id='{body}'><body>{body}</body></message>");
                    else await sender.ChatAsync(to, body);
                }
            }
            bool Delivered(string body) => conversations[sent[body]].Receiver.ReceivedDrillBodies.Contains(body);

            // Both instances up: every conversation talks, several rounds.
            for (var round = 0; round < 5; round++) await SendRoundAsync(Enumerable.Range(0, conversations.Count));
            await WaitUntilAsync(() => sent.Keys.All(Delivered), TimeSpan.FromSeconds(60),
                () => $"{sent.Keys.Count(Delivered)} of {sent.Count} delivered with both instances up");

            // The second instance stops (SIGTERM): its share is held (fail-closed), the first one's flows on.
            Assert.That(await secondRun.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, secondRun.Output);
            await world.Server.WaitForLogAsync("ImLogger is not connected", TimeSpan.FromSeconds(30));
            var before = sent.Count;
            for (var round = 0; round < 3; round++) await SendRoundAsync(Enumerable.Range(0, conversations.Count));
            var whileAway = sent.Keys.Skip(before).ToList();
            var firstShare = whileAway.Where(b => conversations[sent[b]].Bucket == 0).ToList();
            var secondShare = whileAway.Where(b => conversations[sent[b]].Bucket == 1).ToList();
            await WaitUntilAsync(() => firstShare.All(Delivered), TimeSpan.FromSeconds(60),
                () => $"{firstShare.Count(Delivered)} of {firstShare.Count} of the first instance's share delivered while the second is away");
            Assert.That(secondShare.Where(Delivered), Is.Empty, "the stopped instance's share waits for it: nothing of it passes unlogged");

            // It comes back: what waited is archived there and delivered; nothing was refused.
            secondAgain = world.Own(ImLoggerProcess.Run(secondConfig, TapDeployment.Secret, "imlogger-2b", "Info"));
            await ImLoggerProcess.WaitConnectedAsync(secondAgain);
            await WaitUntilAsync(() => sent.Keys.All(Delivered), TimeSpan.FromSeconds(60),
                () => $"{sent.Keys.Count(Delivered)} of {sent.Count} delivered after the second instance came back");
            await Task.Delay(500); // a message delivered twice would come now

            Assert.That(await secondAgain.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, secondAgain.Output);
            Assert.That(await firstRun.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, firstRun.Output);
            var first = Bodies(Archived(world.ArchiveDir));
            var second = Bodies(Archived(Path.Combine(Path.GetDirectoryName(secondConfig)!, "archive")));
            var refused = RefusedLine().Matches(world.Server.Log).Sum(m => int.Parse(m.Groups[1].Value));

            Assert.Multiple(() =>
            {
                Assert.That(refused, Is.Zero, "nothing refused: the stopped instance's share waited for it");
                Assert.That(clients.Sum(c => c.ErrorMessages), Is.Zero, "no sender got an error");
                Assert.That(first, Is.Not.Empty, "the first instance archived its share");
                Assert.That(second, Is.Not.Empty, "the second instance archived its share");
                foreach (var (body, c) in sent)
                {
                    var (key, bucket, _, _, room, _) = conversations[c];
                    var (mine, other) = bucket == 0 ? (first, second) : (second, first);
                    Assert.That(other.ContainsKey(body), Is.False, $"{body} of {key} is not in the other instance's archive (a conversation is never split)");
                    // A room message is held twice for its logged sender (sent, and reflected by the room): archived once.
                    Assert.That(mine.GetValueOrDefault(body), Is.EqualTo(1), $"{body} of {key}{(room ? " (room)" : "")} is archived once by instance {bucket + 1}");
                }
                foreach (var body in sent.Keys)
                    Assert.That(conversations[sent[body]].Receiver.DrillBodyCounts.GetValueOrDefault(body), Is.EqualTo(1), $"{body} delivered once");
            });
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
            await firstRun.DisposeAsync();
            await secondRun.DisposeAsync();
            if (secondAgain != null) await secondAgain.DisposeAsync();
        }
    }

    /// <summary>
    /// Fail-open: a stopped instance's share is re-hashed to the other instance (archived there, not a gap) while it is
    /// away, and returns to it when it is back. A conversation is then in both archives, each part once: the price of
    /// fail-open, said in docs/scale-out.md.
    /// </summary>
    [TestCaseSource(nameof(Servers)), CancelAfter(300_000)]
    public async Task FailOpen_AStoppedInstancesShareGoesToTheOtherAndComesBack(string server)
    {
        const string open = """<attach mode="inline" failure-mode="open" timeout="60s" />""";
        var logged = Enumerable.Range(1, Pairs).Select(Sender).ToArray();
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged,
            $"""<scale-out components="{First} {Second}" />""", NoNotices, attach: open, seats: logged.Length, server: server,
            moreAccounts: [.. logged, .. Enumerable.Range(1, Pairs).Select(Peer)]);
        AssertRulesListBothInstances(world, server);
        var secondConfig = SecondInstance(world);
        var firstRun = world.RunImLogger("imlogger-1", logLevel: "Info");
        var secondRun = world.Own(ImLoggerProcess.Run(secondConfig, TapDeployment.Secret, "imlogger-2", "Info"));
        ProcessRunner? secondAgain = null;
        var senders = new List<RawXmppClient>();
        var peers = new List<RawXmppClient>();
        try
        {
            await ImLoggerProcess.WaitConnectedAsync(firstRun);
            await ImLoggerProcess.WaitConnectedAsync(secondRun);
            for (var i = 1; i <= Pairs; i++)
            {
                senders.Add(await RawXmppClient.LoginAsync(world.Server, Sender(i)));
                peers.Add(await RawXmppClient.LoginAsync(world.Server, Peer(i)));
            }
            var buckets = Enumerable.Range(1, Pairs).Select(i => Bucket(PairKey(ClientScenario.Jid(Sender(i)), ClientScenario.Jid(Peer(i))), 2)).ToArray();
            Assert.That(buckets.Distinct().Count(), Is.EqualTo(2), "both instances have a share");
            var next = 0;
            async Task<List<(string Body, int Pair)>> RoundAsync()
            {
                var round = new List<(string, int)>();
                for (var i = 0; i < Pairs; i++)
                {
                    var body = $"drill-{next++}";
                    await senders[i].ChatAsync(Peer(i + 1), body);
                    round.Add((body, i));
                }
                await WaitUntilAsync(() => round.All(r => peers[r.Item2].ReceivedDrillBodies.Contains(r.Item1)), TimeSpan.FromSeconds(60),
                    () => $"{round.Count(r => peers[r.Item2].ReceivedDrillBodies.Contains(r.Item1))} of {round.Count} delivered");
                return round;
            }

            var before = await RoundAsync();
            Assert.That(await secondRun.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, secondRun.Output);
            await world.Server.WaitForLogAsync($"ImLogger {Second} is not connected: its share goes to the other instances", TimeSpan.FromSeconds(30));
            var away = await RoundAsync();
            secondAgain = world.Own(ImLoggerProcess.Run(secondConfig, TapDeployment.Secret, "imlogger-2b", "Info"));
            await ImLoggerProcess.WaitConnectedAsync(secondAgain);
            await Task.Delay(1000); // the module hears of the authentication on its next turn
            var after = await RoundAsync();

            Assert.That(await secondAgain.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, secondAgain.Output);
            Assert.That(await firstRun.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, firstRun.Output);
            var first = Bodies(Archived(world.ArchiveDir));
            var second = Bodies(Archived(Path.Combine(Path.GetDirectoryName(secondConfig)!, "archive")));
            Assert.Multiple(() =>
            {
                foreach (var (body, pair) in before.Concat(after))
                    Assert.That((first.GetValueOrDefault(body), second.GetValueOrDefault(body)), Is.EqualTo(buckets[pair] == 0 ? (1, 0) : (0, 1)),
                        $"{body}: archived once, by its own instance, while both are up");
                foreach (var (body, _) in away)
                    Assert.That((first.GetValueOrDefault(body), second.GetValueOrDefault(body)), Is.EqualTo((1, 0)),
                        $"{body}: archived once, by the first instance, while the second is away (re-hashed, not a gap)");
                Assert.That(world.Server.Log, Does.Not.Contain("delivered UNLOGGED"), "nothing passed unlogged");
            });
        }
        finally
        {
            foreach (var c in senders.Concat(peers)) await c.DisposeAsync();
            await firstRun.DisposeAsync();
            await secondRun.DisposeAsync();
            if (secondAgain != null) await secondAgain.DisposeAsync();
        }
    }

    /// <summary>What server-config wrote names both instances: the module's list, and the component listener of each.</summary>
    private static void AssertRulesListBothInstances(TapDeployment world, string server)
    {
        if (server == "ejabberd")
            Assert.That(File.ReadAllText(Path.Combine(world.Dir, "tap", "imlogger.yml")),
                Does.Contain($"components: [\"{First}\", \"{Second}\"]").And.Contain($"\"{Second}\":\n        password:").And.Contain("global_routes: false"),
                "server-config writes the list, and a listener host for each instance routed to it alone");
        else
            Assert.That(File.ReadAllText(Path.Combine(world.Dir, "tap", "imlogger.cfg.lua")),
                Does.Contain($"imlogger_components = {{ \"{First}\", \"{Second}\" }}").And.Contain($"Component \"{Second}\""),
                "server-config writes the list and a component for each instance");
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();
}

using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.InlineRestartDrillTests;

namespace ImLogger.Integration.Tests;

/// <summary>
/// JID case and scale-out, end to end on both servers: the conversation key is hashed after the server's JID
/// normalisation, so a conversation whose two clients write each other's JID in different case ("CP01@Example.TEST",
/// "cp01@example.test", a full JID in capitals) is one conversation on one instance, archived whole in one transcript.
/// </summary>
public partial class ScaleOutTests
{
    private const int CasePairs = 4;

    [TestCaseSource(nameof(Servers)), CancelAfter(300_000)]
    public async Task PeersWritingEachOthersJidInDifferentCase_AreOneConversationOnOneInstance(string server)
    {
        string Logged(int i) => $"ca{i:D2}";
        string Peer(int i) => $"cp{i:D2}";
        var logged = Enumerable.Range(1, CasePairs).Select(Logged).ToArray();
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged,
            $"""<scale-out components="{First} {Second}" />""", NoNotices, attach: Attach, seats: logged.Length, server: server,
            moreAccounts: [.. logged, .. Enumerable.Range(1, CasePairs).Select(Peer)]);
        var keys = Enumerable.Range(1, CasePairs).Select(i => PairKey(ClientScenario.Jid(Logged(i)), ClientScenario.Jid(Peer(i)))).ToArray();
        var buckets = keys.Select(k => Bucket(k, 2)).ToArray();
        Assert.That(buckets.Distinct().Count(), Is.EqualTo(2), "both instances have a share");
        // A server hashing the JID as the client wrote it would send some of these conversations' stanzas elsewhere.
        Assert.That(Enumerable.Range(1, CasePairs).Count(i => Bucket(PairKey(ClientScenario.Jid(Logged(i)), $"CP{i:D2}@Example.TEST"), 2) != buckets[i - 1]),
            Is.GreaterThan(0), "names whose raw-case key falls in the other bucket (fixed names: holds or fails every run)");

        var secondConfig = SecondInstance(world);
        var firstRun = world.RunImLogger("imlogger-1", logLevel: "Info");
        var secondRun = world.Own(ImLoggerProcess.Run(secondConfig, TapDeployment.Secret, "imlogger-2", "Info"));
        var clients = new List<RawXmppClient>();
        try
        {
            await ImLoggerProcess.WaitConnectedAsync(firstRun);
            await ImLoggerProcess.WaitConnectedAsync(secondRun);
            var sent = new List<(string Body, int Pair, RawXmppClient To)>();
            var next = 0;
            for (var i = 1; i <= CasePairs; i++)
            {
                var me = await RawXmppClient.LoginAsync(world.Server, Logged(i));
                var peer = await RawXmppClient.LoginAsync(world.Server, Peer(i));
                clients.AddRange([me, peer]);
                // The logged user's client writes the peer in capitals, then in lower case; the peer's writes the logged
                // user in mixed case, then in capitals. Full JIDs: a session is given them before its first presence has
                // made it available (to a bare JID the server could store the message offline meanwhile).
                foreach (var (from, to, target) in new[]
                         {
                             (me, $"CP{i:D2}@Example.TEST/raw", peer), (peer, $"Ca{i:D2}@EXAMPLE.test/raw", me),
                             (me, $"cp{i:D2}@example.test/raw", peer), (peer, $"CA{i:D2}@Example.Test/raw", me),
                         })
                {
                    var body = $"drill-{next++}";
                    await from.SendRawAsync($"<message to='{to}' type='chat' id='{body}'><body>{body}</body></message>");
                    sent.Add((body, i - 1, target));
                }
            }
            await WaitUntilAsync(() => sent.All(s => s.To.ReceivedDrillBodies.Contains(s.Body)), TimeSpan.FromSeconds(60),
                () => $"{sent.Count(s => s.To.ReceivedDrillBodies.Contains(s.Body))} of {sent.Count} delivered; missing: " +
                      string.Join(", ", sent.Where(s => !s.To.ReceivedDrillBodies.Contains(s.Body)).Select(s => s.Body)));

            // SIGTERM closes and delivers every open transcript: one file per conversation and instance.
            Assert.That(await secondRun.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, secondRun.Output);
            Assert.That(await firstRun.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, firstRun.Output);
            var archives = new[] { Archived(world.ArchiveDir), Archived(Path.Combine(Path.GetDirectoryName(secondConfig)!, "archive")) };
            Assert.Multiple(() =>
            {
                for (var p = 0; p < CasePairs; p++)
                {
                    var bodies = sent.Where(s => s.Pair == p).Select(s => s.Body).ToArray();
                    var mine = archives[buckets[p]].Where(m => bodies.Any(b => Bodies([m]).ContainsKey(b))).ToList();
                    Assert.That(mine, Has.Count.EqualTo(1), $"{keys[p]}: one transcript in instance {buckets[p] + 1}'s archive");
                    if (mine.Count == 1)
                        Assert.That(bodies.Select(b => Bodies(mine).GetValueOrDefault(b)), Is.All.EqualTo(1),
                            $"{keys[p]}: every message, whatever case its JIDs were written in, archived once in that transcript");
                    Assert.That(Bodies(archives[1 - buckets[p]]).Keys.Intersect(bodies), Is.Empty,
                        $"{keys[p]}: nothing of it in the other instance's archive (not split by case)");
                }
                Assert.That(clients.Sum(c => c.ErrorMessages), Is.Zero, "no client got an error");
            });
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
            await firstRun.DisposeAsync();
            await secondRun.DisposeAsync();
        }
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Reliability drills in tap mode, short form (the benchmark is the place for long runs): the component killed while
/// messages flow, the endpoint gone for a while, Prosody restarted under the component, the spool's disk full. Each
/// message body is unique ("drill-N"), so "exactly once" is counted by body across every transcript at the endpoint.
/// </summary>
/// <remarks>
/// What tap mode cannot promise, and these drills therefore do not assert: copies that Prosody sends while the
/// component is down or reconnecting are bounced by Prosody and never archived; copies read from the socket but
/// not yet spooled when the component is killed are lost. The drills assert what is promised: every event the
/// component reported durably spooled reaches the endpoint, and nothing reaches it twice.
/// </remarks>
[TestFixture, NonParallelizable]
public partial class DrillTests
{
    /// <summary>Notices add events of their own; off, "events spooled" counts exactly the messages.</summary>
    private const string NoNotices = """<notifications inside="off" outside="off" />""";

    private static Task<TapDeployment> StartAsync(string idleClose = "1h") =>
        TapDeployment.StartAsync(idleClose, TapDeployment.Secret, ["alice"], null, NoNotices); // positional: the parameter is being renamed

    /// <summary>Every "drill-N" body in every transcript at the endpoint, duplicates included.</summary>
    private static List<string> ArchivedBodies(TapDeployment world) =>
        world.Archived().SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();

    /// <summary>Inline: the "drill-N" bodies archived as said, and those on a "REFUSED, not delivered" line: the archive
    /// saying that a stanza recorded above never reached anyone (stored, then refused by the server's module because the
    /// verdict came too late, as after a kill -9 and a slow restart). A marked body is not archived twice.</summary>
    private static (List<string> Said, List<string> MarkedRefused) ArchivedByOutcome(TapDeployment world)
    {
        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n')).ToList();
        static bool Refusal(string line) => line.Contains("REFUSED, not delivered", StringComparison.Ordinal);
        return (lines.Where(l => !Refusal(l)).SelectMany(l => DrillBody().Matches(l).Select(x => x.Value)).ToList(),
            lines.Where(Refusal).SelectMany(l => DrillBody().Matches(l).Select(x => x.Value)).ToList());
    }

    /// <summary>The component's own count of events durably spooled by this process (logged after each fsync).</summary>
    /// <summary>Three kills in the suite; the long form is IMLOGGER_DRILL_KILLS=20 dotnet test --filter Killed.</summary>
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("IMLOGGER_DRILL_KILLS"), out var k) ? k : 3;

    /// <summary>Starts the component, lets alice send to bob, kills it with kill -9 at a random moment; <see cref="Kills"/> times.</summary>
    /// <returns>How many messages alice sent.</returns>
    private static async Task<int> KillWhileFlowingAsync(TapDeployment world, RawXmppClient alice, int seed, Func<ProcessRunner, Task> afterKill)
    {
        var random = new Random(seed);
        var sent = 0;
        for (var round = 0; round < Kills; round++)
        {
            var imlogger = world.RunImLogger($"imlogger-{round}");
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            using var flowing = new CancellationTokenSource();
            var sender = Task.Run(async () =>
            {
                while (!flowing.IsCancellationRequested)
                {
                    await SendAsync(alice, "bob", sent, 5);
                    sent += 5;
                    await Task.Delay(10);
                }
            });
            await Task.Delay(random.Next(300, 1500));
            imlogger.KillHard();
            await afterKill(imlogger);
            await flowing.CancelAsync();
            await sender;
            await imlogger.DisposeAsync();
        }
        return sent;
    }

    private static long SpooledSoFar(ProcessRunner p) =>
        p.Lines.Select(l => SpooledTotal().Match(l)).Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    private static async Task SendAsync(RawXmppClient from, string to, int first, int count, int bodyPadding = 0)
    {
        var padding = bodyPadding > 0 ? " " + new string('x', bodyPadding) : "";
        for (var i = first; i < first + count; i++)
            await from.ChatAsync(to, $"drill-{i}{padding}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> explain)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > timeout) Assert.Fail(explain());
            await Task.Delay(200);
        }
    }

    private static void AssertEachOnce(List<string> bodies, long atLeast, string what)
    {
        var twice = bodies.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(twice, Is.Empty, $"{what}: archived more than once");
            Assert.That(bodies.Distinct().Count(), Is.GreaterThanOrEqualTo(atLeast), $"{what}: fewer messages archived than the component reported spooled");
        });
    }

    [Test, CancelAfter(600_000)]
    public async Task ComponentKilledAtRandomMomentsWhileMessagesFlowDeliversEverySpooledMessageOnce()
    {
        await using var world = await StartAsync();
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        long spooledBeforeKills = 0;
        // Seeded: a failure replays with the same kill moments. Copies keep coming while the component is gone.
        var sent = await KillWhileFlowingAsync(world, alice, seed: 8, afterKill: imlogger =>
        {
            spooledBeforeKills += SpooledSoFar(imlogger);
            return Task.CompletedTask;
        });

        // The last run resumes the open transcript, takes a few more messages and stops gracefully: delivery.
        var last = world.RunImLogger("imlogger-last");
        await ImLoggerProcess.WaitConnectedAsync(last);
        await SendAsync(alice, "bob", sent, 20);
        await ImLoggerProcess.WaitSpooledAsync(last, 20);
        Assert.That(await last.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var total = spooledBeforeKills + SpooledSoFar(last);
        await last.DisposeAsync();

        var bodies = ArchivedBodies(world);
        TestContext.Out.WriteLine($"sent {sent + 20}, spooled before kills {spooledBeforeKills}, archived {bodies.Count}");
        Assert.That(spooledBeforeKills, Is.GreaterThan(0), "the kills must hit a component that had spooled something");
        AssertEachOnce(bodies, total, $"after {Kills} kills");
    }

    [Test, CancelAfter(600_000)]
    public async Task InlineFailClosedComponentKilledWhileMessagesFlowDeliversNothingUnlogged()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, NoNotices,
            attach: """<attach mode="inline" failure-mode="closed" timeout="3s" />""");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        // Stanzas held at each kill must be refused, never delivered unlogged.
        var sent = await KillWhileFlowingAsync(world, alice, seed: 9, afterKill: _ => Task.Delay(500));
        var last = world.RunImLogger("imlogger-last");
        await ImLoggerProcess.WaitConnectedAsync(last);
        await SendAsync(alice, "bob", sent, 20);
        await ImLoggerProcess.WaitSpooledAsync(last, 20);
        await Task.Delay(1000); // the verdicts reach Prosody, the messages reach bob
        Assert.That(await last.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        await last.DisposeAsync();

        var (archived, markedRefused) = ArchivedByOutcome(world);
        var delivered = bob.ReceivedDrillBodies;
        TestContext.Out.WriteLine($"sent {sent + 20}, delivered to bob {delivered.Count}, archived {archived.Count}, marked refused after storing {markedRefused.Count}");
        Assert.That(delivered, Has.Count.GreaterThan(20), "messages flowed between the kills");
        AssertEachOnce(archived, 0, $"inline, after {Kills} kills");
        Assert.That(delivered.Except(archived), Is.Empty, "fail-closed: every message bob received is archived");
        Assert.Multiple(() =>
        {
            Assert.That(markedRefused, Is.Unique, "a refusal is marked once");
            Assert.That(markedRefused.Except(archived), Is.Empty, "a refusal marks a stanza recorded above");
            Assert.That(markedRefused.Intersect(delivered), Is.Empty, "what the archive says was NOT DELIVERED never reached bob");
        });
    }

    [Test, CancelAfter(240_000)]
    public async Task EndpointGoneForAWhileUnderLoadGetsEverythingAfterwardsOnce()
    {
        await using var world = await StartAsync(idleClose: "2s");
        // The endpoint's directory is a file: every delivery fails until it is a directory again.
        File.WriteAllText(world.ArchiveDir, "not a directory");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        await using var carol = await RawXmppClient.LoginAsync(world.Prosody, "carol");

        // Two conversations, two bursts separated by more than the idle time: four transcripts owed.
        await SendAsync(alice, "bob", 0, 100);
        await SendAsync(alice, "carol", 100, 100);
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 200);
        await imlogger.WaitForLineAsync(l => l.Contains("local-archive", StringComparison.Ordinal) && l.Contains("ERROR", StringComparison.Ordinal) || l.Contains("WARN", StringComparison.Ordinal) && l.Contains("local-archive", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "a failed delivery");
        await Task.Delay(2500);
        await SendAsync(alice, "bob", 200, 100);
        await SendAsync(alice, "carol", 300, 100);
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 400);
        await Task.Delay(3000);
        Assert.That(ArchivedBodies(world), Is.Empty, "nothing can be delivered while the endpoint is gone");

        File.Delete(world.ArchiveDir);
        Directory.CreateDirectory(world.ArchiveDir);
        // Retries back off (5 s, 10 s, 20 s...): everything must arrive within a couple of retry periods.
        await WaitUntilAsync(() => ArchivedBodies(world).Distinct().Count() >= 400, TimeSpan.FromSeconds(90),
            () => $"only {ArchivedBodies(world).Distinct().Count()} of 400 messages delivered after the endpoint came back:\n{imlogger.Output}");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var bodies = ArchivedBodies(world);
        AssertEachOnce(bodies, 400, "after the endpoint came back");
        Assert.That(bodies, Has.Count.EqualTo(400));
        Assert.That(Directory.GetFiles(world.ArchiveDir, ".*"), Is.Empty, "no temp files left behind");
    }

    [Test, CancelAfter(240_000)]
    public async Task ProsodyRestartedUnderTheComponentReconnectsAndLosesNothingAccepted()
    {
        await using var world = await StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using (var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice"))
        await using (var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob"))
        {
            await SendAsync(alice, "bob", 0, 100);
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 100);
        }

        await world.Prosody.StopAsync();
        await world.Prosody.StartAsync();
        await WaitUntilAsync(() => imlogger.Lines.Count(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal)) >= 2,
            TimeSpan.FromSeconds(90), () => $"the component did not reconnect to the restarted Prosody:\n{imlogger.Output}");

        await using (var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice"))
        await using (var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob"))
        {
            await SendAsync(alice, "bob", 100, 100);
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 200);
        }
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var bodies = ArchivedBodies(world);
        AssertEachOnce(bodies, 200, "across the restart");
        Assert.That(bodies, Has.Count.EqualTo(200));
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();

    [GeneratedRegex(@"Spooled \d+ events \((\d+) since start\)")]
    private static partial Regex SpooledTotal();
}

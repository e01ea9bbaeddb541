using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.InlineRestartDrillTests;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Failover (issue 16, docs/failover.md) on real Prosody 0.12 (component_conflict_resolve left at its default, kick_new)
/// with mod_imlogger_inline fail-closed, raw c2s clients and two or three real <c>imlogger</c> processes for the same
/// component domain and secret, each with its own folder: config, spool, archive. Logged users chat throughout; the
/// active instance is killed (kill -9), the standby takes over, the old one comes back and must wait, not fight; then the
/// new active is stopped (SIGTERM) and the old one takes over again. Nothing may be refused (each outage is far shorter
/// than the hold timeout), each message must reach its receiver once and be archived at least once across the
/// instances' archives, and the parts of a split conversation must say where it continues.
/// </summary>
[TestFixture, NonParallelizable]
public partial class FailoverDrillTests
{
    private const int Pairs = 5;
    /// <summary>Low: the drill is about who holds the component, not throughput (the restart drill and the bench load it),
    /// and two instances plus report commands share a small machine.</summary>
    private const int RatePerSecond = 25;
    private const string NoNotices = """<notifications inside="off" outside="off" />""";
    private const string Attach = """<attach mode="inline" failure-mode="closed" timeout="60s" />""";

    private static string Sender(int i) => $"logged{i:D2}";
    private static string Receiver(int i) => $"peer{i:D2}";

    /// <summary>An instance's own folder beside the deployment's: its config (the deployment's plus <paramref name="failover"/>),
    /// and there its spool and archive.</summary>
    private static string Instance(TapDeployment world, string name, string failover, int? port = null)
    {
        var dir = Path.Combine(world.Dir, name);
        Directory.CreateDirectory(dir);
        var xml = File.ReadAllText(world.ConfigPath).Replace("""<spool path="spool.db" />""", $"""<spool path="spool.db" />{"\n"}  {failover}""", StringComparison.Ordinal);
        if (port is { } p) xml = ComponentPort().Replace(xml, $" port=\"{p}\"", 1);
        var path = Path.Combine(dir, "imlogger.xml");
        File.WriteAllText(path, xml);
        return path;
    }

    /// <summary>An instance on <paramref name="config"/>, owned by <paramref name="world"/> (stopped with it if the test ends early).</summary>
    private static ProcessRunner Run(TapDeployment world, string config, string name) => world.Own(ImLoggerProcess.Run(config, TapDeployment.Secret, name, "Info"));

    private static IReadOnlyList<MimeKit.MimeMessage> Archived(string config)
    {
        var dir = Path.Combine(Path.GetDirectoryName(config)!, "archive");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "*.eml").Order().Select(f => MimeKit.MimeMessage.Load(f)).ToList() : [];
    }

    private static async Task<string> ReportAsync(string config)
    {
        var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", config);
        Assert.That(code, Is.Zero, output);
        return output;
    }

    private static Task<string> WaitLineAsync(ProcessRunner p, string text, string what) =>
        p.WaitForLineAsync(l => l.Contains(text, StringComparison.Ordinal), TimeSpan.FromSeconds(30), what);

    /// <summary>mod_imlogger_inline's warning when it parks what it holds because the component went away.</summary>
    private static int AwayLines(ProsodyServer prosody) => Regex.Matches(prosody.Log, "ImLogger is not connected").Count;

    [Test, CancelAfter(240_000)]
    public async Task ActiveKilledThenStandbyStopped_EachTimeTheOtherTakesOver_NothingRefused_TranscriptsSayTheyContinue()
    {
        var logged = Enumerable.Range(1, Pairs).Select(Sender).ToArray();
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged, null, NoNotices, attach: Attach, seats: Pairs);
        CreateAccounts(world, [.. logged, .. Enumerable.Range(1, Pairs).Select(Receiver)]);
        var configA = Instance(world, "a", """<failover role="active" instance="a" retry="0.5s" />""");
        var configB = Instance(world, "b", """<failover role="standby" instance="b" retry="0.5s" />""");

        var a = Run(world, configA, "imlogger-a");
        await ImLoggerProcess.WaitConnectedAsync(a);
        await using var b = Run(world, configB, "imlogger-b");
        await WaitLineAsync(b, "Standby: another instance holds the component", "b waits as standby");

        var senders = new List<RawXmppClient>();
        var receivers = new List<RawXmppClient>();
        try
        {
            for (var i = 1; i <= Pairs; i++)
            {
                senders.Add(await RawXmppClient.LoginAsync(world.Prosody, Sender(i)));
                receivers.Add(await RawXmppClient.LoginAsync(world.Prosody, Receiver(i)));
            }
            using var stop = new CancellationTokenSource();
            var sent = 0;
            var sending = Task.Run(async () =>
            {
                var clock = Stopwatch.StartNew();
                while (!stop.IsCancellationRequested)
                {
                    var due = (int)(clock.Elapsed.TotalSeconds * RatePerSecond);
                    while (sent < due)
                    {
                        var pair = sent % Pairs;
                        await senders[pair].ChatAsync(Receiver(pair + 1), $"drill-{sent}");
                        sent++;
                    }
                    await Task.Delay(10);
                }
            });

            // The standby's refused attempts (every 0.5 s) while a holds the component must not disturb a's traffic.
            await Task.Delay(2000);
            var awayWhileStandbyRetried = AwayLines(world.Prosody);
            var reportA = await ReportAsync(configA);
            var reportB = await ReportAsync(configB);

            a.KillHard();
            await WaitLineAsync(b, "Took over the component", "b takes over after a was killed");
            await Task.Delay(1500);

            // a comes back after its crash: b holds the component, so a waits, closing what it had left open.
            await using var aAgain = Run(world, configA, "imlogger-a2");
            await WaitLineAsync(aAgain, "open transcript(s) here", "a closes the transcripts it had open, as b holds the component now");
            var reportA2 = await ReportAsync(configA);
            await Task.Delay(1000);

            Assert.That(await b.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, b.Output);
            await WaitLineAsync(aAgain, "Took over the component", "a takes over after b was stopped");
            await Task.Delay(1500);
            await stop.CancelAsync();
            await sending;

            await WaitUntilAsync(() => receivers.Sum(r => r.DrillBodyCounts.Count) >= sent, TimeSpan.FromSeconds(90),
                () => $"{receivers.Sum(r => r.DrillBodyCounts.Count)} of {sent} messages delivered");
            await Task.Delay(500); // a message delivered twice would come now
            Assert.That(await aAgain.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, aAgain.Output);
            await a.DisposeAsync();

            var archiveA = Archived(configA);
            var archiveB = Archived(configB);
            string[] Bodies(IEnumerable<MimeKit.MimeMessage> m) => m.SelectMany(x => DrillBody().Matches(x.TextBody ?? "").Select(d => d.Value)).ToArray();
            bool Says(IEnumerable<MimeKit.MimeMessage> m, string text) => m.Any(x => (x.TextBody ?? "").Contains(text, StringComparison.Ordinal));
            var delivered = receivers.SelectMany(r => r.DrillBodyCounts).ToList();
            var refused = RefusedLine().Matches(world.Prosody.Log).Sum(m => int.Parse(m.Groups[1].Value));
            TestContext.Out.WriteLine($"sent {sent}; delivered {delivered.Sum(d => d.Value)}; archived by a {Bodies(archiveA).Length}, by b {Bodies(archiveB).Length} " +
                                      $"(distinct together {Bodies(archiveA.Concat(archiveB)).Distinct().Count()}); refused {refused}");
            Assert.Multiple(() =>
            {
                Assert.That(reportA, Does.Contain("ACTIVE: instance a (configured active)").And.Match(@"started and connected in \d+\.\d s"));
                Assert.That(reportB, Does.Contain("STANDBY: instance b (configured standby)").And.Contain("waiting since"));
                Assert.That(reportA2, Does.Contain("STANDBY: instance a (configured active)"), "the old active came back as standby");
                Assert.That(awayWhileStandbyRetried, Is.Zero, "the standby's refused attempts did not make the module park what the active one held");
                Assert.That(refused, Is.Zero, "nothing refused across either failover");
                Assert.That(senders.Sum(s => s.ErrorMessages), Is.Zero, "no sender received an error");
                Assert.That(delivered.Where(d => d.Value != 1).Select(d => d.Key), Is.Empty, "each message delivered exactly once");
                Assert.That(delivered, Has.Count.EqualTo(sent), "every message delivered");
                Assert.That(Bodies(archiveA.Concat(archiveB)).Distinct().Count(), Is.EqualTo(sent), "every message archived at least once across the two archives");
                Assert.That(Says(archiveB, "Continued from the ImLogger instance that was active before b took over"), Is.True, "b's parts say where they continue from");
                Assert.That(Says(archiveA, "Continued at another ImLogger instance: a restarted at"), Is.True, "a's parts from before the crash say they continue elsewhere");
                Assert.That(Says(archiveB, "ImLogger instance b stopped at"), Is.True, "b's parts closed at its stop say so");
                Assert.That(Says(archiveA, "Continued from the ImLogger instance that was active before a took over"), Is.True, "a's parts after it took back over say so");
                Assert.That(b.Lines.Count(l => l.Contains("Standby:", StringComparison.Ordinal)), Is.EqualTo(1), "the standby said so once, not per attempt");
                Assert.That(b.Lines.Where(l => l.Contains("retrying in", StringComparison.Ordinal)), Is.Empty, "b, once active, kept the component until its stop: nobody fought for it");
            });
        }
        finally
        {
            foreach (var client in senders.Concat(receivers)) await client.DisposeAsync();
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task BothConfiguredActive_TheSecondWaitsWithAWarning_AStandbyThatCannotReachTheServerSaysSo()
    {
        string[] logged = [Sender(1)];
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged, null, NoNotices, attach: Attach, seats: 1);
        CreateAccounts(world, [Sender(1), Receiver(1)]);
        var configA = Instance(world, "a", """<failover instance="a" retry="0.5s" />""");
        var configB = Instance(world, "b", """<failover instance="b" retry="0.5s" />""");
        var configC = Instance(world, "c", """<failover role="standby" instance="c" retry="0.5s" />""", port: Paths.FreePort());

        var a = Run(world, configA, "imlogger-a");
        await ImLoggerProcess.WaitConnectedAsync(a);
        await using var b = Run(world, configB, "imlogger-b");
        var warning = await WaitLineAsync(b, "not configured as a standby", "b, configured active too, waits with a warning");
        await using var c = Run(world, configC, "imlogger-c");
        await WaitLineAsync(c, "cannot reach", "c cannot reach the server");

        await using var sender = await RawXmppClient.LoginAsync(world.Prosody, Sender(1));
        await using var receiver = await RawXmppClient.LoginAsync(world.Prosody, Receiver(1));
        for (var i = 0; i < 20; i++) await sender.ChatAsync(Receiver(1), $"drill-{i}");
        await WaitUntilAsync(() => receiver.DrillBodyCounts.Count >= 20, TimeSpan.FromSeconds(30), () => $"{receiver.DrillBodyCounts.Count} of 20 delivered");
        var reportB = await ReportAsync(configB);
        var reportC = await ReportAsync(configC);

        a.KillHard();
        await WaitLineAsync(b, "Took over the component", "b takes over after a was killed");
        for (var i = 20; i < 30; i++) await sender.ChatAsync(Receiver(1), $"drill-{i}");
        await WaitUntilAsync(() => receiver.DrillBodyCounts.Count >= 30, TimeSpan.FromSeconds(30), () => $"{receiver.DrillBodyCounts.Count} of 30 delivered");
        var awayBeforeStops = AwayLines(world.Prosody);
        // a comes back after its crash: it waits as standby and delivers what it had captured, saying it continues at b.
        await using var aAgain = Run(world, configA, "imlogger-a2");
        await WaitLineAsync(aAgain, "open transcript(s) here", "a closes the transcripts it had open, as b holds the component now");
        await WaitUntilAsync(() => Archived(configA).Count > 0, TimeSpan.FromSeconds(30), () => "a delivered nothing after it came back");
        Assert.That(await aAgain.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, aAgain.Output);
        Assert.That(await b.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, b.Output);
        var reportC2 = await ReportAsync(configC);
        Assert.That(await c.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, c.Output);
        await a.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(warning, Does.Contain("another component is already connected as archive.example.test"));
            Assert.That(reportB, Does.Contain("STANDBY: instance b (configured active)"));
            Assert.That(reportC, Does.Contain("NOT CONNECTED: instance c (configured standby)").And.Contain("cannot reach").And.Contain("cannot take over"));
            Assert.That(reportC2, Does.Contain("NOT CONNECTED: instance c"), "c never connected anywhere");
            Assert.That(a.Lines.Where(l => l.Contains("retrying in", StringComparison.Ordinal)), Is.Empty, "a kept the component while b waited: no fight");
            Assert.That(awayBeforeStops, Is.EqualTo(1), "the module saw the component go away once: when a was killed");
            Assert.That(aAgain.Lines.Where(l => l.Contains("Took over", StringComparison.Ordinal)), Is.Empty, "a, back, did not take the component from b");
            Assert.That(RefusedLine().Matches(world.Prosody.Log).Sum(m => int.Parse(m.Groups[1].Value)), Is.Zero);
            Assert.That(receiver.DrillBodyCounts.Values, Is.All.EqualTo(1));
            Assert.That(Archived(configC), Is.Empty);
            var bodies = Archived(configA).Concat(Archived(configB)).SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(d => d.Value)).Distinct().Count();
            Assert.That(bodies, Is.EqualTo(30), "every message archived by a or b");
        });
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();

    [GeneratedRegex(@" port=""\d+""")]
    private static partial Regex ComponentPort();
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ImLogger.Bench;

/// <summary>One restart drill: how <c>imlogger</c> went away, and what the users and the archive saw.</summary>
internal sealed record DrillResult(
    string How, int Sent, TimeSpan Away, int RefusedInProsody, int SenderErrors, int Delivered, int DeliveredTwice,
    int Archived, int ArchivedTwice, int MarkedRefused = 0, int MarkedRefusedYetDelivered = 0, TimeSpan? Started = null);

/// <summary>
/// Section "drill" (issue 16): 20 logged users send to 20 unlogged ones at 500 messages a second in total through
/// mod_imlogger_inline (fail-closed, the default 10 s timeout), while <c>imlogger</c> is stopped with SIGTERM (then,
/// in a second Prosody, killed with -9) and started again. Counted: refusals (Prosody's log and the errors senders
/// receive), deliveries at the receivers and bodies in the archive, each expected exactly once. The suite runs a short
/// version (InlineRestartDrillTests, 60 s timeout); this one keeps the shipped timeout and reports the time away.
/// </summary>
internal sealed partial class DrillBench(BenchContext context, BenchOptions options)
{
    private const string Secret = "bench-secret-7d2a";
    private const int Pairs = 20;

    private static string Sender(int i) => $"logged{i:D2}";
    private static string Receiver(int i) => $"peer{i:D2}";

    public async Task<IReadOnlyList<DrillResult>> RunAsync() =>
        [await RunOnceAsync(hard: false), await RunOnceAsync(hard: true)];

    private async Task<DrillResult> RunOnceAsync(bool hard)
    {
        var how = hard ? "kill -9" : "SIGTERM";
        var dir = context.NewDir("drill");
        var users = Enumerable.Range(1, Pairs).Select(Sender).ToArray();
        await using var rig = ProsodyRig.Prepare(dir, [.. users, .. Enumerable.Range(1, Pairs).Select(Receiver)]);
        var configPath = WriteConfig(dir, rig.ComponentPort, users);
        var tapDir = Path.Combine(dir, "tap");
        await using (var gen = context.StartImLogger(Secret, "Warn", "prosody-config", "--config", configPath, "--out", tapDir))
        {
            await gen.Process.WaitForExitAsync();
            if (gen.Process.ExitCode != 0) throw new InvalidOperationException($"imlogger prosody-config failed:\n{gen.Output}");
        }
        await rig.StartAsync(Path.Combine(tapDir, "imlogger.cfg.lua"), options.Nagle);

        var first = context.StartImLogger(Secret, "Info", "run", "--config", configPath, "--log-config", context.NLogConfig);
        ImLoggerRun? second = null;
        var senders = new List<XmppLoadClient>();
        var receivers = new List<XmppLoadClient>();
        try
        {
            await first.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "connected");
            for (var i = 1; i <= Pairs; i++)
            {
                senders.Add(await XmppLoadClient.LoginAsync(rig.C2sPort, Sender(i), ProsodyRig.Domain, ProsodyRig.Password));
                receivers.Add(await XmppLoadClient.LoginAsync(rig.C2sPort, Receiver(i), ProsodyRig.Domain, ProsodyRig.Password));
            }
            var perPair = (int)(options.DrillSeconds * options.DrillRate / Pairs);
            var ratePerPair = options.DrillRate / Pairs;
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(options.DrillSeconds + 120));
            using var listen = CancellationTokenSource.CreateLinkedTokenSource(limit.Token);
            var errors = senders.Select(s => s.CountErrorsAsync(listen.Token)).ToList();
            var receiving = receivers.Select(r => r.ReceiveMessagesAsync(perPair, limit.Token)).ToList();
            var sending = senders.Select((s, i) => s.SendMessagesAsync(receivers[i].FullJid, perPair, ratePerPair, $"d{i + 1}-", limit.Token, $"drill{i + 1:D2}")).ToList();

            // The outage starts a third into the flow; the flow goes on while imlogger is away and after it is back.
            await Task.Delay(TimeSpan.FromSeconds(options.DrillSeconds / 3));
            var stopped = Stopwatch.StartNew();
            if (hard) first.Process.Kill();
            else await first.StopAsync(TimeSpan.FromSeconds(60));
            second = context.StartImLogger(Secret, "Info", "run", "--config", configPath, "--log-config", context.NLogConfig);
            await second.WaitForLineAsync(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal), TimeSpan.FromSeconds(120), "connected again");
            var away = stopped.Elapsed;
            Console.Error.WriteLine($"  [drill {how}] imlogger away {away.TotalSeconds:0.0} s (stop to connected again)");

            await Task.WhenAll(sending);
            var received = await Task.WhenAll(receiving);
            await Task.Delay(1000); // a message delivered twice, or an error, would come now
            await listen.CancelAsync();
            var senderErrors = (await Task.WhenAll(errors)).Sum();
            await second.StopAsync(TimeSpan.FromSeconds(120)); // closes the open transcripts into the archive

            // A body on a "REFUSED, not delivered" line is the archive saying that a stanza recorded above never reached
            // anyone (ImLogger stored it, its verdict came too late): counted apart, not as archived twice.
            var lines = Directory.Exists(BenchContext.ArchiveDir(dir))
                ? Directory.GetFiles(BenchContext.ArchiveDir(dir), "*.eml", SearchOption.AllDirectories)
                    .SelectMany(f => (MimeKit.MimeMessage.Load(f).TextBody ?? "").Split('\n'))
                    .ToList()
                : [];
            var archived = lines.Where(l => !l.Contains("REFUSED, not delivered", StringComparison.Ordinal))
                .SelectMany(l => DrillBody().Matches(l).Select(m => m.Value)).ToList();
            var markedRefused = lines.Where(l => l.Contains("REFUSED, not delivered", StringComparison.Ordinal))
                .SelectMany(l => DrillBody().Matches(l).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
            var deliveredBodies = receivers.SelectMany(r => r.ReceivedKeys).ToHashSet(StringComparer.Ordinal);
            var started = second.Output.Split('\n').Select(l => StartedLine().Match(l)).FirstOrDefault(m => m.Success) is { } startedMatch
                ? TimeSpan.FromSeconds(double.Parse(startedMatch.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)) : (TimeSpan?)null;
            var refused = RefusedLine().Matches(File.Exists(rig.LogFile) ? File.ReadAllText(rig.LogFile) : "").Sum(m => int.Parse(m.Groups[1].Value));
            var result = new DrillResult(how, perPair * Pairs, away, refused, senderErrors, received.Sum(r => r.Received), receivers.Sum(r => r.Duplicates),
                archived.Distinct().Count(), archived.Count - archived.Distinct().Count(), markedRefused.Count,
                markedRefused.Count(deliveredBodies.Contains), started);
            Console.Error.WriteLine($"  [drill {how}] sent {result.Sent}, refused {refused} (sender errors {senderErrors}), delivered {result.Delivered} "
                + $"(twice: {result.DeliveredTwice}), archived {result.Archived} (twice: {result.ArchivedTwice}), marked refused after storing "
                + $"{result.MarkedRefused} (of which delivered: {result.MarkedRefusedYetDelivered}), start {result.Started?.TotalSeconds:0.00} s");
            return result;
        }
        finally
        {
            foreach (var client in senders.Concat(receivers)) await client.DisposeAsync();
            await first.DisposeAsync();
            if (second != null) await second.DisposeAsync();
        }
    }

    /// <summary>The load section's config with 20 logged users, inline fail-closed with the shipped 10 s timeout.</summary>
    private static string WriteConfig(string dir, int componentPort, IEnumerable<string> users)
    {
        var path = BenchContext.PrepareConfigFile(dir);
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" host="127.0.0.1" port="{componentPort}" secret-env="IMLOGGER_COMPONENT_SECRET" />
              <attach mode="inline" failure-mode="closed" timeout="10s" />
              <spool path="{BenchContext.SpoolInConfig}" />
              <transcripts idle-close="1h" />
              <organization domain="example.test" endpoint="local-archive" seats="100">
                <notifications inside="off" outside="off" />
                {string.Join("\n    ", users.Select(u => $"<user jid=\"{u}@example.test\" />"))}
              </organization>
              <endpoints>
                <directory name="local-archive" path="{BenchContext.ArchiveInConfig}" />
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    /// <summary>"sequence timestamp dN" as SendMessagesAsync writes it: one key per message.</summary>
    [GeneratedRegex(@"\b\d+ \d+ drill\d\d\b")]
    private static partial Regex DrillBody();

    /// <summary>imlogger's own breakdown of its start (StartupTimeline).</summary>
    [GeneratedRegex(@"Started in ([0-9.]+) s from the process start")]
    private static partial Regex StartedLine();

    /// <summary>mod_imlogger_inline's warning each time it refuses held stanzas.</summary>
    [GeneratedRegex(@"(\d+) held stanza\(s\) refused")]
    private static partial Regex RefusedLine();
}

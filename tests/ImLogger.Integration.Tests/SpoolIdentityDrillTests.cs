using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>The real <c>imlogger run</c> with its spool deleted under it: it notices within seconds, saves what it held,
/// stops with exit code 3, and the restart refuses the empty spool until the operator puts the spool back or accepts a
/// new one.</summary>
[TestFixture]
public class SpoolIdentityDrillTests
{
    [Test, CancelAfter(120_000)]
    public async Task DeletedSpoolStopsTheServiceAndTheRestartRefusesUntilItIsBack()
    {
        var dir = Paths.TempDir("imlogger-vanish-");
        try
        {
            var config = WriteConfig(dir);
            var spool = Path.Combine(dir, "spool.db");
            await using (var first = ImLoggerProcess.Run(config, "s"))
            {
                await first.WaitForLineAsync(l => l.Contains("ImLogger starting", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "started");
                File.Delete(spool);
                var code = await first.WaitForExitAsync(TimeSpan.FromSeconds(30)); // the watchdog looks every second
                Assert.Multiple(() =>
                {
                    Assert.That(code, Is.EqualTo(3), first.Output);
                    Assert.That(first.Lines.Where(l => l.Contains(" ERROR ", StringComparison.Ordinal)),
                        Has.Some.Contains($"the spool file '{spool}' was deleted while running"), first.Output);
                });
            }
            var rescued = Directory.GetFiles(dir, "spool.db.deleted-*").Single();

            var (refused, output) = await ImLoggerProcess.CommandAsync("s", "run", "--config", config, "--log-config", Paths.NLogConfig);
            Assert.Multiple(() =>
            {
                Assert.That(refused, Is.EqualTo(1), output);
                Assert.That(output, Does.Contain("is missing").And.Contain(spool + ".identity").And.Contain("--accept-new-spool"));
                Assert.That(File.Exists(spool), Is.False, "the refused start created nothing");
            });

            File.Move(rescued, spool);
            await using (var back = ImLoggerProcess.Run(config, "s"))
            {
                await back.WaitForLineAsync(l => l.Contains("ImLogger starting", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "started on the spool put back");
                Assert.That(await back.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero, back.Output);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test, CancelAfter(120_000)]
    public async Task EmptiedSpoolIsRefusedAndAcceptNewSpoolStartsAfresh()
    {
        var dir = Paths.TempDir("imlogger-empty-");
        try
        {
            var config = WriteConfig(dir);
            var spool = Path.Combine(dir, "spool.db");
            await using (var first = ImLoggerProcess.Run(config, "s"))
            {
                await first.WaitForLineAsync(l => l.Contains("ImLogger starting", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "started");
                Assert.That(await first.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero, first.Output);
            }
            File.WriteAllBytes(spool, []);
            var (refused, output) = await ImLoggerProcess.CommandAsync("s", "run", "--config", config, "--log-config", Paths.NLogConfig);
            Assert.That(refused, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("empty (0 bytes)"));

            await using var accepted = ImLoggerProcess.Start("imlogger", new Dictionary<string, string> { [ImLoggerProcess.SecretVariable] = "s" },
                "run", "--config", config, "--log-config", Paths.NLogConfig, "--accept-new-spool");
            await accepted.WaitForLineAsync(l => l.Contains("ImLogger starting", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "started anew");
            Assert.That(accepted.Lines, Has.Some.Contains("WARN").And.Contains("--accept-new-spool"), accepted.Output);
            Assert.That(await accepted.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero, accepted.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test, CancelAfter(240_000)]
    public async Task SpoolDeletedUnderTrafficLosesNothingOnceTheSavedCopyIsPutBack()
    {
        await using var world = await TapDeployment.StartAsync();
        var first = world.RunImLogger("imlogger-1");
        await ImLoggerProcess.WaitConnectedAsync(first);
        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "one"), Expect("bob", "alice", "one"),
            Chat("bob", "alice", "two"), Expect("alice", "bob", "two"));
        await ImLoggerProcess.WaitSpooledAsync(first, 2);
        File.Delete(world.SpoolPath);
        Assert.That(await first.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(3), first.Output);
        await first.DisposeAsync();

        var (refused, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "run", "--config", world.ConfigPath, "--log-config", Paths.NLogConfig);
        Assert.That(refused, Is.EqualTo(1), output);
        File.Move(Directory.GetFiles(world.Dir, "spool.db.deleted-*").Single(), world.SpoolPath);

        await using var second = world.RunImLogger("imlogger-2");
        await second.WaitForLineAsync(l => l.Contains("1 open conversation(s) resumed", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the open conversation resumed from the saved copy");
        await ImLoggerProcess.WaitConnectedAsync(second);
        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "three"), Expect("bob", "alice", "three"));
        await ImLoggerProcess.WaitSpooledAsync(second, 1);
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, second.Output);

        var archived = world.Archived().Single();
        var bodies = (archived.TextBody ?? "").ReplaceLineEndings("\n").Split('\n')
            .Where(l => l.StartsWith('[') && !l.Contains("] [notice", StringComparison.Ordinal))
            .Select(l => l[(l.LastIndexOf(':') + 2)..]).ToArray();
        Assert.That(bodies, Is.EqualTo(new[] { "one", "two", "three" }));
    }

    /// <summary>A config whose component points at a free port where nothing listens: the spool is all this test needs.</summary>
    private static string WriteConfig(string dir)
    {
        var config = Path.Combine(dir, "imlogger.xml");
        File.WriteAllText(config, $"""
            <imlogger>
              <component jid="archive.example.test" port="{Paths.FreePort()}" secret-env="{ImLoggerProcess.SecretVariable}" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="a" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints><directory name="a" path="archive" /></endpoints>
            </imlogger>
            """);
        return config;
    }
}

/// <summary><c>imlogger spool salvage</c> as the operator runs it, on a spool with one zeroed page.</summary>
[TestFixture]
public class SpoolSalvageCommandTests
{
    [Test, CancelAfter(120_000)]
    public async Task SalvageCopiesEveryReadableTranscriptCountsTheLossAndLeavesTheSourceAlone()
    {
        var dir = Paths.TempDir("imlogger-salvage-");
        try
        {
            var spool = Path.Combine(dir, "spool.db");
            using (var s = new ImLogger.Spool.LiteDbSpool(spool, Microsoft.Extensions.Logging.Abstractions.NullLogger<ImLogger.Spool.LiteDbSpool>.Instance))
            {
                var t0 = DateTimeOffset.UtcNow;
                for (var t = 0; t < 30; t++)
                {
                    var key = $"alice@example.test bob{t}@example.test";
                    var header = s.OpenTranscript(ImLogger.Domain.ConversationType.OneToOne, key, t0, ["a"]);
                    s.Append(Enumerable.Range(0, 20).Select(i => new ImLogger.Spool.SpoolAppend(header.Id, new ImLogger.Domain.ConversationEvent
                    {
                        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = t0, Kind = ImLogger.Domain.EventKind.Message,
                        Direction = ImLogger.Domain.Direction.Outgoing, ConversationType = ImLogger.Domain.ConversationType.OneToOne,
                        ConversationKey = key, From = "alice@example.test/x", To = $"bob{t}@example.test", SenderBareJid = "alice@example.test",
                        Text = $"message {t}.{i} " + new string('x', 300), RawXml = "<message/>", LoggedUsers = ["alice@example.test"],
                    })).ToList());
                    s.Close(header.Id, t0);
                }
            }
            // zero one page of events in the second half of the file
            var bytes = File.ReadAllBytes(spool);
            var page = Enumerable.Range(bytes.Length / 8192 / 2, bytes.Length / 8192 / 2)
                .First(p => bytes[p * 8192 + 4] == 4 && bytes.AsSpan(p * 8192, 8192).IndexOf("message "u8) >= 0);
            using (var stream = new FileStream(spool, FileMode.Open)) { stream.Position = page * 8192L; stream.Write(new byte[8192]); }
            var before = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(spool)));
            var config = WriteConfig(dir);

            var target = Path.Combine(dir, "new", "spool.db");
            var (code, output) = await ImLoggerProcess.CommandAsync("s", "spool", "salvage", "--to", target, "--config", config);
            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(4), output);
                Assert.That(output, Does.Contain("transcripts").And.Contain("30 record(s) read"));
                Assert.That(output, Does.Match(@"events\s+\d{3} record\(s\) read"));
                Assert.That(output, Does.Contain("event(s) readable"), "the transcripts that lost events are named");
                Assert.That(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(spool))), Is.EqualTo(before));
            });

            File.Move(spool, spool + ".damaged");
            File.Move(target, spool);
            var (status, listing) = await ImLoggerProcess.CommandAsync("s", "spool", "status", "--config", config);
            Assert.That(status, Is.Zero, listing);
            Assert.That(listing, Does.Contain("30 closed transcript(s)"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string WriteConfig(string dir)
    {
        var config = Path.Combine(dir, "imlogger.xml");
        File.WriteAllText(config, $"""
            <imlogger>
              <component jid="archive.example.test" port="{Paths.FreePort()}" secret-env="{ImLoggerProcess.SecretVariable}" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="a" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints><directory name="a" path="archive" /></endpoints>
            </imlogger>
            """);
        return config;
    }
}

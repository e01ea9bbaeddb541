using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>The real <c>imlogger run</c> with its spool deleted under it: it notices within seconds, saves what it held,
/// stops with exit code 3, and the restart refuses the empty spool until the operator puts the spool back or accepts a
/// new one.</summary>
[TestFixture, NonParallelizable]
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

using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>What an operator sees when something is set up wrong: one clear line, and an exit code or a retry.</summary>
[TestFixture]
public class OperatorErrorTests
{
    [Test, CancelAfter(120_000)]
    public async Task WrongSecretStopsWithOneClearLineAndExitCode2()
    {
        await using var world = await TapDeployment.StartAsync(prosodySecret: "the-server-secret");
        await using var imlogger = world.RunImLogger(secret: "a-wrong-secret");
        var code = await imlogger.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2));
            var errors = imlogger.Lines.Where(l => l.Contains(" ERROR ", StringComparison.Ordinal) || l.Contains(" FATAL ", StringComparison.Ordinal)).ToList();
            Assert.That(errors.Count(l => l.Contains("secret", StringComparison.OrdinalIgnoreCase)), Is.GreaterThanOrEqualTo(1), imlogger.Output);
            Assert.That(errors.Count(l => l.Contains("ERROR", StringComparison.Ordinal)), Is.EqualTo(1), "one error line, then the stop:\n" + imlogger.Output);
            Assert.That(imlogger.Output, Does.Not.Contain("a-wrong-secret").And.Not.Contain("the-server-secret"), "secrets never reach logs");
        });
    }

    [Test, CancelAfter(120_000)]
    public async Task ServerDownIsRetriedWithWhatToCheck()
    {
        var dir = Paths.TempDir("imlogger-down-");
        try
        {
            var config = WriteConfig(dir, "spool.db");
            await using var imlogger = ImLoggerProcess.Run(config, "s");
            var line = await imlogger.WaitForLineAsync(l => l.Contains("WARN", StringComparison.Ordinal) && l.Contains("retrying in", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "a retry warning");
            Assert.That(line, Does.Contain("127.0.0.1"));
            Assert.That(imlogger.HasExited, Is.False, "a server that is down is waited for, not fatal");
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task ReportRunAsRootOnAStoppedServiceLeavesTheSpoolToItsOwner()
    {
        if (!Environment.IsPrivilegedProcess) Assert.Ignore("needs root (CI and ./imlogger.sh test run as root)");
        var dir = Paths.TempDir("imlogger-owner-");
        try
        {
            var data = Directory.CreateDirectory(Path.Combine(dir, "data")).FullName;
            var config = WriteConfig(dir, "data/spool.db");
            // The service's user owns its data folder; the admin runs `sudo imlogger report` while it is stopped.
            await RunAsync("chown", "nobody", data);
            foreach (var round in new[] { "a new spool", "an existing spool" })
            {
                var (code, output) = await ImLoggerProcess.CommandAsync("s", "report", "--config", config);
                Assert.That(code, Is.Zero, output);
                var files = Directory.GetFiles(data);
                Assert.That(files, Has.Some.EndsWith("spool.db.lock"), round);
                foreach (var file in files)
                    Assert.That(await RunAsync("stat", "-c", "%U", file), Is.EqualTo("nobody"), $"{Path.GetFileName(file)} after the report on {round}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A config whose component points at a free port where nothing listens.</summary>
    private static string WriteConfig(string dir, string spool)
    {
        var config = Path.Combine(dir, "imlogger.xml");
        File.WriteAllText(config, $"""
            <imlogger>
              <component jid="archive.example.test" port="{Paths.FreePort()}" secret-env="{ImLoggerProcess.SecretVariable}" />
              <spool path="{spool}" />
              <organization domain="example.test" endpoint="a" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints><directory name="a" path="archive" /></endpoints>
            </imlogger>
            """);
        return config;
    }

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.That(p.ExitCode, Is.Zero, $"{file} {string.Join(' ', args)}: {await p.StandardError.ReadToEndAsync()}");
        return output.Trim();
    }

    [Test, CancelAfter(60_000)]
    public async Task MalformedConfigNamesFileAndLineAndExits1()
    {
        var dir = Paths.TempDir("imlogger-bad-");
        try
        {
            var config = Path.Combine(dir, "imlogger.xml");
            File.WriteAllText(config, "<imlogger>\n  <component jid=\"archive.example.test\" secret-env=\"X\" />\n  <spool path=\"s.db\" />\n  <organisation domain=\"example.test\" />\n</imlogger>\n");
            var (code, output) = await ImLoggerProcess.CommandAsync("s", "run", "--config", config);
            Assert.That(code, Is.EqualTo(1));
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines, Has.Length.EqualTo(1), output);
            Assert.That(lines[0], Does.StartWith($"imlogger: config error: {config}:4:4: unknown element <organisation> inside <imlogger>"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task ProsodyConfigPrintsTheComponentAndTheRules()
    {
        var (code, output) = await ImLoggerProcess.CommandAsync("demo-secret", "prosody-config", "--config", Path.Combine(Paths.RepoRoot, "config", "imlogger.xml"));
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("Component \"archive.example.test\"").And.Contain("component_secret = \"demo-secret\""));
        // The shipped config is inline (the default): the module, its settings and the logged users, not firewall rules.
        Assert.That(output, Does.Contain("modules_enabled = { \"imlogger_inline\" }").And.Contain("imlogger_logged_users = { \"alice@example.test\" }")
            .And.Contain("imlogger_failure_mode = \"closed\""));
        Assert.That(output, Does.Not.Contain("::preroute"));
    }

    [Test, CancelAfter(60_000)]
    public async Task CheckConfigSummarisesTheShippedConfig()
    {
        var (code, output) = await ImLoggerProcess.CommandAsync("demo-secret", "check-config", "--config", Path.Combine(Paths.RepoRoot, "config", "imlogger.xml"));
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("alice@example.test -> local-archive").And.Not.Contain("demo-secret"));
    }
}

using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Seats and live reload, end to end: real Prosody with the rules ImLogger writes, the real `imlogger run`,
/// real slixmpp clients, and the admin's commands (check-config, report).
/// </summary>
[TestFixture]
public partial class ProvisioningTests
{
    private static string Conversation(MimeKit.MimeMessage m) => m.Headers["X-ImLogger-Conversation"] ?? "";

    /// <summary>How many events the component reported spooled so far (take it before a scenario, wait for more after).</summary>
    private static int SpooledSoFar(ProcessRunner p) =>
        p.Lines.Select(l => SpooledTotal().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    [GeneratedRegex(@"Spooled \d+ events \((\d+) since start\)")]
    private static partial Regex SpooledTotal();

    [Test, CancelAfter(180_000)]
    public async Task WithThreeSeatsAndFiveUsersExactlyTheFirstThreeAreLoggedAndTheOthersAreNamed()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "bob", "carol", "dave", "grace"], null, seats: 3);
        var rules = await File.ReadAllTextAsync(Path.Combine(world.Dir, "tap", "imlogger.pfw"));
        Assert.That(rules, Does.Contain("FROM: carol@example.test").And.Not.Contain("dave@example.test").And.Not.Contain("grace@example.test"),
            "the server is never asked to copy the stanzas of users over the limit");

        var (code, check) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, check);
        Assert.That(check, Does.Contain("3 of 3 seat(s) used").And.Contain("OVER THE SEAT LIMIT, NOT LOGGED (2)")
            .And.Contain("2 user(s) over the seat limit are NOT logged: dave@example.test (line 12), grace@example.test (line 13)"));

        await using (var imlogger = world.RunImLogger())
        {
            var warning = await imlogger.WaitForLineAsync(l => l.Contains("over the seat limit are NOT logged", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the seat warning at start");
            Assert.That(warning, Does.Contain("dave@example.test").And.Contain("grace@example.test").And.Not.Contain("carol@example.test ("));
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            await RunAsync(world.Prosody, world.Dir,
                Connect("alice"), Connect("bob"), Connect("carol"), Connect("dave"), Connect("grace"),
                Chat("dave", "grace", "over the limit one"), Expect("grace", "dave", "over the limit one"),
                Chat("grace", "dave", "over the limit two"), Expect("dave", "grace", "over the limit two"),
                Chat("alice", "bob", "seat one and two"), Expect("bob", "alice", "seat one and two"),
                Chat("carol", "grace", "seat three"), Expect("grace", "carol", "seat three"));
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 2);
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }

        var archived = world.Archived();
        Assert.That(archived.Select(Conversation), Is.EquivalentTo(new[] { "alice@example.test bob@example.test", "carol@example.test grace@example.test" }));
        Assert.That(archived.Select(m => m.TextBody ?? ""), Has.None.Contain("over the limit"), "the users over the limit produce no transcript");

        var (reportCode, report) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath);
        Assert.That(reportCode, Is.Zero, report);
        var lines = report.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(lines.Single(l => l.Contains("dave@example.test", StringComparison.Ordinal)), Does.Contain("NOT LOGGED: over the seat limit"));
            Assert.That(lines.Single(l => l.Contains("grace@example.test", StringComparison.Ordinal)), Does.Contain("NOT LOGGED: over the seat limit"));
            Assert.That(lines.Single(l => l.Contains("alice@example.test", StringComparison.Ordinal)), Does.Contain("logging active").And.Match(@"captured [1-9]"));
            Assert.That(lines.Single(l => l.Contains("carol@example.test", StringComparison.Ordinal)), Does.Contain("logging active").And.Match(@"captured [1-9]"));
        });
    }

    [Test, CancelAfter(180_000)]
    public async Task AReloadStartsLoggingAnAddedUserAndABrokenEditKeepsTheRunningConfig()
    {
        const string attach = "<attach mode=\"tap\" rules-out=\"tap\" />";
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: attach);
        var script = Path.Combine(world.Dir, "tap", "imlogger.pfw");
        await using var imlogger = world.RunImLogger();
        await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 1 logged user(s) written (start)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules at start");
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await RunAsync(world.Prosody, world.Dir, Connect("bob"), Connect("carol"),
            Chat("bob", "carol", "before the reload"), Expect("carol", "bob", "before the reload"));

        // The admin adds bob; ImLogger notices the file, rewrites the rules; the operator reloads Prosody.
        world.WriteConfig(world.Prosody.ComponentPort, "1h", ["alice", "bob"], attach: attach);
        await imlogger.WaitForLineAsync(l => l.Contains("Config reloaded", StringComparison.Ordinal) && l.Contains("configured to log: bob@example.test", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the reload");
        await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 2 logged user(s) written (reload)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules rewritten");
        await world.Prosody.ReloadAsync($"Loaded {script}", TimeSpan.FromSeconds(30));
        var mark = SpooledSoFar(imlogger);
        await RunAsync(world.Prosody, world.Dir, Connect("bob"), Connect("carol"),
            Chat("bob", "carol", "after the reload"), Expect("carol", "bob", "after the reload"));
        await ImLoggerProcess.WaitSpooledAsync(imlogger, mark + 1);

        // A broken edit: refused, logged once (the file event and a SIGHUP), and bob stays logged.
        await File.WriteAllTextAsync(world.ConfigPath, (await File.ReadAllTextAsync(world.ConfigPath)).Replace("seats=\"20\"", "seats=\"many\"", StringComparison.Ordinal));
        await imlogger.WaitForLineAsync(l => l.Contains("refused, the running config stays in force", StringComparison.Ordinal) && l.Contains("seats must be a positive whole number", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the refusal");
        using (var hup = System.Diagnostics.Process.Start("kill", ["-HUP", imlogger.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await hup.WaitForExitAsync();
        mark = SpooledSoFar(imlogger);
        await RunAsync(world.Prosody, world.Dir, Connect("bob"), Connect("carol"),
            Chat("bob", "carol", "still logged after a broken edit"), Expect("carol", "bob", "still logged after a broken edit"));
        await ImLoggerProcess.WaitSpooledAsync(imlogger, mark + 1);
        Assert.That(imlogger.Lines.Count(l => l.Contains("refused, the running config stays in force", StringComparison.Ordinal)), Is.EqualTo(1), "the error is logged once");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, "SIGHUP reloads, it does not stop the component");

        var transcript = world.Archived().Single(m => Conversation(m) == "bob@example.test carol@example.test");
        Assert.That(transcript.TextBody, Does.Contain("after the reload").And.Contain("still logged after a broken edit").And.Not.Contain("before the reload"));
        Assert.That(imlogger.Lines.Count(l => l.Contains("Connected to the XMPP server", StringComparison.Ordinal)), Is.EqualTo(1), "the component connection was never dropped");
    }

    [Test, CancelAfter(180_000)]
    public async Task InInlineModeAReloadedUserIsHeldAndArchivedAfterProsodyReloads()
    {
        const string attach = "<attach mode=\"inline\" failure-mode=\"closed\" timeout=\"5s\" rules-out=\"tap\" />";
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: attach);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        world.WriteConfig(world.Prosody.ComponentPort, "1h", ["alice", "bob"], attach: attach);
        await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 2 logged user(s) written (reload)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules rewritten");
        Assert.That(await File.ReadAllTextAsync(Path.Combine(world.Dir, "tap", "imlogger.cfg.lua")), Does.Contain("\"bob@example.test\""));
        // mod_imlogger_inline re-reads imlogger_logged_users when Prosody reloads its config.
        await world.Prosody.ReloadAsync("holding the stanzas of 2 logged user(s)", TimeSpan.FromSeconds(30));

        var mark = SpooledSoFar(imlogger);
        await RunAsync(world.Prosody, world.Dir, Connect("bob"), Connect("carol"),
            Chat("bob", "carol", "held and archived"), Expect("carol", "bob", "held and archived"));
        await ImLoggerProcess.WaitSpooledAsync(imlogger, mark + 1);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var transcript = world.Archived().Single(m => Conversation(m) == "bob@example.test carol@example.test");
        Assert.That(transcript.TextBody, Does.Contain("held and archived"));
    }

    [Test, CancelAfter(180_000)]
    public async Task EditingTheCsvListOfARunningComponentStartsLoggingTheAddedUser()
    {
        const string attach = "<attach mode=\"tap\" rules-out=\"tap\" />";
        var lists = Paths.TempDir("imlogger-csv-");
        var csv = Path.Combine(lists, "users.csv");
        await File.WriteAllTextAsync(csv, "jid,name\ncarol@example.test,Carol\n");
        try
        {
            await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, exampleOrganizationXml: $"<csv path=\"{csv}\" />", attach: attach);
            var script = Path.Combine(world.Dir, "tap", "imlogger.pfw");
            await using var imlogger = world.RunImLogger();
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 2 logged user(s) written (start)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules at start");
            await ImLoggerProcess.WaitConnectedAsync(imlogger);

            // The admin appends a row to the CSV (not the config): ImLogger watches the files the config reads.
            await File.AppendAllTextAsync(csv, "bob@example.test,Bob\n");
            await imlogger.WaitForLineAsync(l => l.Contains("Config reloaded (users.csv changed)", StringComparison.Ordinal) && l.Contains("configured to log: bob@example.test", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the reload on the CSV edit");
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 3 logged user(s) written (reload)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules rewritten");
            await world.Prosody.ReloadAsync($"Loaded {script}", TimeSpan.FromSeconds(30));
            await RunAsync(world.Prosody, world.Dir, Connect("bob"), Connect("dave"),
                Chat("bob", "dave", "logged from the csv"), Expect("dave", "bob", "logged from the csv"));
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 1);

            // A bad row: refused with the CSV's own line, and bob stays logged.
            await File.AppendAllTextAsync(csv, "not-a-jid,Nobody\n");
            await imlogger.WaitForLineAsync(l => l.Contains("refused, the running config stays in force", StringComparison.Ordinal) && l.Contains("users.csv:4", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the refusal naming the CSV line");
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
            Assert.That(world.Archived().Select(Conversation), Is.EquivalentTo(new[] { "bob@example.test dave@example.test" }));
        }
        finally
        {
            Directory.Delete(lists, recursive: true);
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task AnOrganizationWithTwoDomainsLogsItsUsersOnBoth()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "erin@partner.test"], null,
            domains: "example.test partner.test", organizationAttributes: "name=\"Example Group\"", seats: 2);
        var snippet = await File.ReadAllTextAsync(Path.Combine(world.Dir, "tap", "imlogger.cfg.lua"));
        Assert.That(snippet, Does.Contain("VirtualHost \"example.test\"").And.Contain("VirtualHost \"partner.test\""));

        var (code, check) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, check);
        Assert.That(check, Does.Contain("organization Example Group (example.test, partner.test): 2 of 2 seat(s) used"));

        await using (var imlogger = world.RunImLogger())
        {
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            await RunAsync(world.Prosody, world.Dir, Connect("erin@partner.test"), Connect("frank@partner.test"), Connect("bob"), Connect("carol"),
                Chat("frank@partner.test", "erin@partner.test", "on the second domain"), Expect("erin@partner.test", "frank@partner.test", "on the second domain"),
                Chat("bob", "carol", "nobody logged here"), Expect("carol", "bob", "nobody logged here"));
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 1);
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        Assert.That(world.Archived().Select(Conversation), Is.EquivalentTo(new[] { "erin@partner.test frank@partner.test" }));

        var (reportCode, report) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath, "--org", "partner.test");
        Assert.That(reportCode, Is.Zero, report);
        Assert.That(report, Does.Contain("organization Example Group (example.test, partner.test)"));
        Assert.That(report.Split('\n').Single(l => l.Contains("erin@partner.test", StringComparison.Ordinal)), Does.Contain("logging active").And.Match("captured [1-9]"));
    }
}

using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// An organization logged by default, end to end, in both attach modes: real Prosody with the rules ImLogger
/// writes (mod_firewall wildcards, or mod_imlogger_inline holding everyone), real slixmpp clients. Seats go to
/// the listed user, then to users in the order they sign in; the excluded and those over the limit produce no
/// transcript; the report names each; the seats survive a restart.
/// </summary>
[TestFixture]
public class LoggedByDefaultTests
{
    private static string Conversation(MimeKit.MimeMessage m) => m.Headers["X-ImLogger-Conversation"] ?? "";

    private static Task<TapDeployment> StartAsync(string? attach) =>
        TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            exampleOrganizationXml: "<exclude jid=\"grace@example.test\" />", attach: attach, seats: 3, organizationAttributes: "logged-by-default=\"yes\"");

    /// <summary>bob, then carol, then dave sign in (in that order: it decides the seats), each waiting for ImLogger to say what it decided.</summary>
    private static async Task SignInOneByOneAsync(TapDeployment world, ProcessRunner imlogger)
    {
        foreach (var (user, seat) in new[] { ("bob", "seat 2 of 3"), ("carol", "seat 3 of 3"), ("dave", null) })
        {
            await RunAsync(world.Prosody, world.Dir, Connect(user), Pause(0.2));
            await imlogger.WaitForLineAsync(l => l.Contains($"{user}@example.test", StringComparison.Ordinal)
                    && (seat == null ? l.Contains("is NOT logged", StringComparison.Ordinal) : l.Contains($"now holds {seat}", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30), $"{user}'s seat decision");
        }
    }

    private static object[] Conversations() =>
    [
        Connect("alice"), Connect("bob"), Connect("carol"), Connect("dave"), Connect("grace"), Connect("erin@partner.test"),
        Chat("dave", "erin@partner.test", "over the limit"), Expect("erin@partner.test", "dave", "over the limit"),
        Chat("grace", "erin@partner.test", "excluded user"), Expect("erin@partner.test", "grace", "excluded user"),
        Chat("bob", "erin@partner.test", "seated by default"), Expect("erin@partner.test", "bob", "seated by default"),
        Chat("alice", "carol", "listed and seated"), Expect("carol", "alice", "listed and seated"),
    ];

    private static void AssertArchived(TapDeployment world)
    {
        var archived = world.Archived();
        Assert.That(archived.Select(Conversation), Is.EquivalentTo(new[] { "bob@example.test erin@partner.test", "alice@example.test carol@example.test" }));
        Assert.That(archived.Select(m => m.TextBody ?? ""), Has.None.Contain("over the limit").And.None.Contain("excluded user"),
            "neither the user over the limit nor the excluded one produces a transcript");
        Assert.That(archived.Single(m => Conversation(m) == "bob@example.test erin@partner.test").TextBody, Does.Contain("seated by default"));
    }

    [Test, CancelAfter(240_000)]
    public async Task InTapModeSeatsGoToUsersInOrderOfSignInAndSurviveARestart()
    {
        await using var world = await StartAsync(attach: null);
        var rules = (await File.ReadAllTextAsync(Path.Combine(world.Dir, "tap", "imlogger.pfw"))).ReplaceLineEndings("\n");
        Assert.That(rules, Does.Contain("FROM: <*>@example.test").And.Contain("FROM: grace@example.test\nPASS."));

        var (code, check) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, check);
        Assert.That(check, Does.Contain("logged by default: every user of example.test but the excluded").And.Contain("then the other 2 seat(s)")
            .And.Contain("excluded from logging by default (1): grace@example.test"));

        await using (var imlogger = world.RunImLogger())
        {
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            await SignInOneByOneAsync(world, imlogger);
            await RunAsync(world.Prosody, world.Dir, Conversations());
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 2);

            // While the service runs (and holds the spool locked), report and spool status are answered by it.
            var (liveCode, live) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath);
            Assert.That(liveCode, Is.Zero, live);
            Assert.That(live, Does.Contain("3 of 3 seat(s) used").And.Contain("NOT LOGGED: over the seat limit (3 seats, all taken when first seen"));
            var (statusCode, status) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "spool", "status", "--config", world.ConfigPath);
            Assert.That(statusCode, Is.Zero, status);
            Assert.That(status, Does.Contain("2 open conversation(s)"));
            await imlogger.WaitForLineAsync(l => l.Contains("Control socket: running `imlogger spool status", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the service's note");
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        Assert.That(File.Exists(world.SpoolPath + ".sock"), Is.False, "the control socket goes with the service");
        AssertArchived(world);

        var (reportCode, report) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath);
        Assert.That(reportCode, Is.Zero, report);
        var lines = report.Split('\n');
        string Line(string user) => lines.Single(l => l.TrimStart().StartsWith(user + "@example.test ", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(report, Does.Contain("organization example.test: 3 of 3 seat(s) used, 1 user(s) over the limit"));
            Assert.That(Line("alice"), Does.Contain("logging active;").And.Match("captured [1-9]"));
            Assert.That(Line("bob"), Does.Contain("logging active (logged by default, first seen").And.Match("captured [1-9]"));
            Assert.That(Line("carol"), Does.Contain("logging active (logged by default, first seen"));
            Assert.That(Line("dave"), Does.Contain("NOT LOGGED: over the seat limit (3 seats, all taken when first seen"));
            Assert.That(Line("grace"), Does.Contain("NOT LOGGED: excluded"));
        });

        // Restart: the seats are read back from the spool, so dave is still the one left out.
        await using (var again = world.RunImLogger("imlogger-again"))
        {
            var warning = await again.WaitForLineAsync(l => l.Contains("seen since are NOT logged", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the seat warning at start");
            Assert.That(warning, Does.Contain("dave@example.test (first seen"));
            await ImLoggerProcess.WaitConnectedAsync(again);
            await RunAsync(world.Prosody, world.Dir, Connect("dave"), Connect("carol"), Connect("erin@partner.test"),
                Chat("dave", "erin@partner.test", "still over the limit"), Expect("erin@partner.test", "dave", "still over the limit"),
                Chat("carol", "erin@partner.test", "carol kept her seat"), Expect("erin@partner.test", "carol", "carol kept her seat"));
            await ImLoggerProcess.WaitSpooledAsync(again, 1);

            // bob left the company: the admin releases his seat, and dave, who was waiting, takes it at once.
            var (released, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "spool", "release-seat", "bob@example.test", "--config", world.ConfigPath);
            Assert.That(released, Is.Zero, output);
            await RunAsync(world.Prosody, world.Dir, Connect("dave"), Connect("erin@partner.test"),
                Chat("dave", "erin@partner.test", "dave holds bob's seat"), Expect("erin@partner.test", "dave", "dave holds bob's seat"));
            await again.WaitForLineAsync(l => l.Contains("dave@example.test erin@partner.test opened", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "dave's conversation");
            Assert.That(await again.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        var bodies = world.Archived().Select(m => m.TextBody ?? "").ToList();
        Assert.That(bodies, Has.Some.Contain("carol kept her seat"));
        Assert.That(bodies, Has.None.Contain("still over the limit"));
        Assert.That(bodies, Has.Some.Contain("dave holds bob's seat"));
    }

    [Test, CancelAfter(240_000)]
    public async Task InInlineModeUsersWithoutASeatAreDeliveredUnloggedAndUnrestricted()
    {
        await using var world = await StartAsync(attach: "<attach mode=\"inline\" failure-mode=\"closed\" timeout=\"5s\" />");
        var lua = await File.ReadAllTextAsync(Path.Combine(world.Dir, "tap", "imlogger.cfg.lua"));
        Assert.That(lua, Does.Contain("imlogger_log_all = true").And.Contain("imlogger_excluded_users = { \"grace@example.test\" }"));
        // The module logs this while Prosody loads it, which may be after Prosody's port is open: wait for the line.
        await world.Prosody.WaitForLogAsync("Holding the stanzas of every user of example.test but 1 excluded (logged by default)", TimeSpan.FromSeconds(30));

        await using (var imlogger = world.RunImLogger())
        {
            await ImLoggerProcess.WaitConnectedAsync(imlogger);
            await SignInOneByOneAsync(world, imlogger);
            await RunAsync(world.Prosody, world.Dir, Conversations());
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 2);
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        AssertArchived(world);

        // ImLogger away, fail-closed: dave, told to hold no seat, is no longer held, so he is not refused; alice is.
        var away = await RunAsync(world.Prosody, world.Dir, Connect("dave"), Connect("alice"), Connect("erin@partner.test"),
            Chat("dave", "erin@partner.test", "not held without a seat"), Expect("erin@partner.test", "dave", "not held without a seat"),
            Chat("alice", "erin@partner.test", "refused while away"), new { @as = Jid("alice"), @do = "expect_error", from = Jid("erin@partner.test") });
        Assert.That(away[Jid("erin@partner.test")]!.AsArray().Select(m => (string?)m!["body"]), Has.None.EqualTo("refused while away"));

        // Back: ImLogger tells the module the seats may have changed, and dave is held (and decided on) again.
        await using (var back = world.RunImLogger("imlogger-back"))
        {
            await ImLoggerProcess.WaitConnectedAsync(back);
            await world.Prosody.WaitForLogAsync("ImLogger's seats changed: the stanzas of 1 user(s) it had left unlogged are held again", TimeSpan.FromSeconds(30));
            Assert.That(await back.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
    }
}

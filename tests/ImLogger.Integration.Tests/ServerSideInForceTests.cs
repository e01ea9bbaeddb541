using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A reload that changes who is logged is only configured until Prosody runs the new rules (issue 19, "Logging active when
/// nothing is captured"), on real Prosody with mod_imlogger_inline and the real `imlogger`: without rules-out the log,
/// `report` and `check-server` say the server side is waiting, then stale, naming the user it misses; with rules-out the
/// same edit is in force after `prosodyctl reload`. With no service running, `check-server` says what the component port
/// answers: a missing Include, the c2s port. Heartbeats every second keep it fast.
/// </summary>
[TestFixture]
public class ServerSideInForceTests
{
    private const string Waiting = "configured, waiting for the server side (generation ";

    private static string Attach(bool rulesOut) =>
        $"""<attach mode="inline" failure-mode="closed" timeout="5s" heartbeat="1s"{(rulesOut ? " rules-out=\"tap\"" : "")} />""";

    private static Task<(int Code, string Output)> CheckServerAsync(TapDeployment world) =>
        ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-server", "--config", world.ConfigPath);

    private static async Task<string> ReportLineAsync(TapDeployment world, string user)
    {
        var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, output);
        return output.Split('\n').Single(l => l.Contains($"{user}@example.test ", StringComparison.Ordinal));
    }

    [Test, CancelAfter(150_000)]
    public async Task AUserAddedWithoutRulesOutIsWaitingThenStaleUntilProsodyHasTheList()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach(rulesOut: false));
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await imlogger.WaitForLineAsync(l => l.Contains("Server side loaded on example.test", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first heartbeat");

        // The operator adds carol to ImLogger's config only: Prosody keeps holding alice alone.
        world.WriteConfig(world.Prosody.ComponentPort, "1h", ["alice", "carol"], attach: Attach(rulesOut: false));
        var reload = await imlogger.WaitForLineAsync(l => l.Contains("Config reloaded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the reload");
        Assert.That(reload, Does.Contain("configured to log: carol@example.test").And.Contain(Waiting).And.Contain("server-config").And.Not.Contain("now logged"));

        Assert.That(await ReportLineAsync(world, "carol"), Does.Contain(Waiting).And.Not.Contain("logging active"));
        Assert.That(await ReportLineAsync(world, "alice"), Does.Contain("logging active"), "the old list holds alice");

        var error = await imlogger.WaitForLineAsync(l => l.Contains("SERVER SIDE PROBLEM: example.test: STALE USER LIST", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the deadline's ERROR");
        Assert.That(error, Does.Contain(" ERROR ").And.Contain("not held there yet: carol@example.test").And.Contain("prosodyctl reload"));
        var (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("PROBLEM: example.test: STALE USER LIST").And.Contain("carol@example.test"));
        Assert.That(imlogger.Lines.Count(l => l.Contains("the config is in force there", StringComparison.Ordinal)), Is.EqualTo(1), "only the start's config was ever in force");
    }

    [Test, CancelAfter(150_000)]
    public async Task WithRulesOutTheSameEditIsInForceAfterProsodyReloads()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach(rulesOut: true));
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await imlogger.WaitForLineAsync(l => l.Contains("Server side loaded on example.test", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first heartbeat");

        world.WriteConfig(world.Prosody.ComponentPort, "1h", ["alice", "carol"], attach: Attach(rulesOut: true));
        var reload = await imlogger.WaitForLineAsync(l => l.Contains("Config reloaded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the reload");
        Assert.That(reload, Does.Contain(Waiting).And.Contain("the new rules are written to"));
        await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 2 logged user(s) written (reload)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules rewritten");
        await world.Prosody.ReloadAsync("Config reloaded: holding the stanzas of", TimeSpan.FromSeconds(30));

        await imlogger.WaitForLineAsync(_ => imlogger.Lines.Count(l => l.Contains("the config is in force there", StringComparison.Ordinal)) >= 2,
            TimeSpan.FromSeconds(30), "the new generation's heartbeat");
        var (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("ok: example.test: mod_imlogger_inline loaded and current"));
        Assert.That(await ReportLineAsync(world, "carol"), Does.Contain("logging active"));
    }

    [Test, CancelAfter(120_000)]
    public async Task WithNoServiceCheckServerNamesAMissingIncludeAndTheWrongPort()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Attach(rulesOut: false));
        // The operator forgot the Include on a server that has another external component (a gateway): Prosody's
        // component port listens, but knows no archive.example.test.
        await world.Prosody.StopAsync();
        var prosodyConfig = await File.ReadAllTextAsync(world.Prosody.ConfigPath);
        await File.WriteAllTextAsync(world.Prosody.ConfigPath, string.Join('\n', prosodyConfig.Split('\n').Where(l => !l.StartsWith("Include ", StringComparison.Ordinal))) +
                                                              "\nComponent \"gateway.example.test\"\n\tcomponent_secret = \"gateway-secret\"\n");
        await world.Prosody.StartAsync();

        var (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("PROBLEM: INCLUDE MISSING").And.Contain("imlogger.cfg.lua").And.Contain("restart"));

        // Pointed at the client port instead.
        world.WriteConfig(world.Prosody.C2sPort, "1h", ["alice"], attach: Attach(rulesOut: false));
        (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("PROBLEM: WRONG PORT").And.Contain("client (c2s) port"));
    }
}

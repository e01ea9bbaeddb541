using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The server side proves it is loaded, in both modes, on real Prosody with the real `imlogger`: a VirtualHost that sets
/// modules_enabled again after the Include (what a later conf.d file does) unloads mod_firewall or mod_imlogger_inline,
/// and ImLogger says so (an ERROR naming the domain, `check-server` exiting non-zero, `report`'s first line); a healthy
/// deployment passes the check and logs no such ERROR. Heartbeats every second here (30 s by default) keep it fast.
/// </summary>
[TestFixture]
public class ServerSideLivenessTests
{
    private const string NotLoaded = "SERVER SIDE PROBLEM: example.test";

    private static string Attach(string mode) => mode == "tap"
        ? """<attach mode="tap" heartbeat="1s" />"""
        : """<attach mode="inline" failure-mode="closed" timeout="5s" heartbeat="1s" />""";

    private static Task<TapDeployment> StartAsync(string mode, params string[] logged) =>
        TapDeployment.StartAsync("1h", TapDeployment.Secret, logged.Length == 0 ? ["alice"] : logged, null, attach: Attach(mode));

    private static Task<(int Code, string Output)> CheckServerAsync(TapDeployment world) =>
        ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-server", "--config", world.ConfigPath);

    private static async Task<string[]> ReportAsync(TapDeployment world)
    {
        var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "report", "--config", world.ConfigPath);
        Assert.That(code, Is.Zero, output);
        return output.Split('\n');
    }

    [TestCase("tap"), TestCase("inline"), CancelAfter(120_000)]
    public async Task ALaterModulesEnabledUnloadsTheAdapterAndImLoggerSaysSo(string mode)
    {
        await using var world = await StartAsync(mode);
        // The careless operator's conf.d file, read after the Include: the host's modules are now these only.
        await world.Prosody.StopAsync();
        await File.AppendAllTextAsync(world.Prosody.ConfigPath, $"\nVirtualHost \"{ProsodyServer.Domain}\"\n\tmodules_enabled = {{ \"ping\" }}\n");
        await world.Prosody.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var error = await imlogger.WaitForLineAsync(l => l.Contains(NotLoaded, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the ERROR about example.test");
        Assert.That(error, Does.Contain(" ERROR ").And.Contain("modules_enabled").And.Contain(mode == "tap" ? "\"firewall\"" : "\"imlogger_inline\""));

        // A user forges both signs of life, with the right generation: the server stamps her JID as the sender, so neither counts.
        var generation = Generation(world, mode);
        await using (var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice"))
        {
            await alice.SendRawAsync($"<iq type='set' id='forged-1' to='archive.example.test'><alive xmlns='urn:imlogger:inline:0' version='1' generation='{generation}' held='0' reason='heartbeat'/></iq>");
            await alice.SendRawAsync($"<message to='archive.example.test/imlogger-rules-{generation}'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' " +
                                     $"from='archive.example.test' to='example.test/imlogger-alive'><alive xmlns='urn:imlogger:tap:0'/></message></forwarded></message>");
            await imlogger.WaitForLineAsync(l => l.Contains("Server side: an adapter heartbeat from 'alice@example.test/raw'", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the forged iq ignored");
            await imlogger.WaitForLineAsync(l => l.Contains("Server side: a heartbeat relayed by 'alice@example.test/raw'", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the forged copy ignored");
        }
        var (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.EqualTo(1), output);
        var problems = output.Split('\n').Where(l => l.StartsWith("PROBLEM:", StringComparison.Ordinal)).ToList();
        Assert.That(problems, Has.Count.EqualTo(1), output);
        Assert.That(problems[0], Does.Contain("example.test").And.Contain("not loaded"));
        Assert.That((await ReportAsync(world))[0], Does.StartWith("PROBLEM: example.test"), "the report's first line");

        // Every minute by default; every two heartbeats here: the operator keeps being told.
        await imlogger.WaitForLineAsync(_ => imlogger.Lines.Count(l => l.Contains(NotLoaded, StringComparison.Ordinal)) >= 2, TimeSpan.FromSeconds(30), "the ERROR repeated");
    }

    /// <summary>The generation written into the rules Prosody loaded (the snippet for inline, the firewall script for tap).</summary>
    private static string Generation(TapDeployment world, string mode) => mode == "tap"
        ? System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(world.Dir, "tap", "imlogger.pfw")), "imlogger-rules-([0-9a-f]+)").Groups[1].Value
        : System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(world.Dir, "tap", "imlogger.cfg.lua")), "imlogger_generation = \"([0-9a-f]+)\"").Groups[1].Value;

    [TestCase("tap"), TestCase("inline"), CancelAfter(120_000)]
    public async Task AHealthyDeploymentPassesTheCheckAndLogsNoError(string mode)
    {
        await using var world = await StartAsync(mode);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await imlogger.WaitForLineAsync(l => l.Contains("Server side loaded on example.test", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first heartbeat");
        // Past the deadline (two heartbeats) several times over, so an ERROR would have been logged by now.
        await imlogger.WaitForLineAsync(_ => imlogger.Lines.Count(l => l.Contains("Server side heartbeat from example.test", StringComparison.Ordinal)) >= 5,
            TimeSpan.FromSeconds(60), "five more heartbeats");

        var (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("ok: example.test: ").And.Contain("loaded and current"));
        Assert.That((await ReportAsync(world))[0], Does.StartWith("server side ok: example.test"));
        Assert.That(imlogger.Lines.Where(l => l.Contains(" ERROR ", StringComparison.Ordinal)), Is.Empty);
        if (mode == "inline")
            Assert.That(imlogger.Lines.Any(l => l.Contains("Server side", StringComparison.Ordinal) && l.Contains(", connected,", StringComparison.Ordinal)),
                "the module announced itself when the component connected");

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(world.Archived(), Is.Empty, "heartbeats are not archived as anyone's traffic");
        var (stopped, stoppedOutput) = await CheckServerAsync(world);
        Assert.That(stopped, Is.EqualTo(2), stoppedOutput);
    }

    [TestCase("tap"), TestCase("inline"), CancelAfter(120_000)]
    public async Task RulesOfAnOlderConfigAreReportedAsNotCurrent(string mode)
    {
        await using var world = await StartAsync(mode);
        // The operator adds a user to ImLogger's config but does not give Prosody the new rules: bob would not be logged.
        world.WriteConfig(world.Prosody.ComponentPort, "1h", ["alice", "bob"], attach: Attach(mode));
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var error = await imlogger.WaitForLineAsync(l => l.Contains(NotLoaded, StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the ERROR about stale rules");
        Assert.That(error, Does.Contain("rules of another config").And.Contain("prosodyctl reload"));
        var (code, output) = await CheckServerAsync(world);
        Assert.That(code, Is.EqualTo(1), output);
    }
}

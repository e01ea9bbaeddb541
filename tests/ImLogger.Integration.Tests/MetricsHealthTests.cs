using System.Net;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// <c>&lt;metrics listen&gt;</c> on real Prosody with the real <c>imlogger</c>: what `curl` of /metrics shows while a
/// conversation flows (the documented series, with values that moved), and /health going red when the server is gone.
/// </summary>
[TestFixture]
public class MetricsHealthTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Test, CancelAfter(180_000)]
    public async Task MetricsMoveWithAConversationAndHealthTurnsRedWithoutTheServer()
    {
        var port = Paths.FreePort();
        var attach = $"""<attach mode="inline" failure-mode="closed" timeout="5s" heartbeat="1s" /><metrics listen="127.0.0.1:{port}" />""";
        await using var world = await TapDeployment.StartAsync("2s", TapDeployment.Secret, ["alice"], null, attach: attach);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await imlogger.WaitForLineAsync(l => l.Contains("Server side loaded on example.test", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the first heartbeat");

        var (status, body) = await GetAsync(port, "/health");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(body.Trim(), Is.EqualTo("ok"));

        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "figures, please"), Expect("bob", "alice", "figures, please"),
            Chat("bob", "alice", "on their way"), Expect("alice", "bob", "on their way"),
            Pause());
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 2);
        // idle-close 2s: the transcript closes and the directory endpoint takes it.
        await imlogger.WaitForLineAsync(l => l.Contains("delivered to local-archive", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the delivery");

        (status, body) = await GetAsync(port, "/metrics");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.Multiple(() =>
        {
            Assert.That(Value(body, "imlogger_component_connected"), Is.EqualTo(1), body);
            Assert.That(Value(body, "imlogger_stanzas_total"), Is.GreaterThanOrEqualTo(2), "both chat messages were held and classified");
            Assert.That(Value(body, "imlogger_verdicts_total", "verdict=\"accepted\""), Is.GreaterThanOrEqualTo(2));
            Assert.That(Value(body, "imlogger_deliveries_total", "outcome=\"delivered\""), Is.GreaterThanOrEqualTo(1));
            Assert.That(Value(body, "imlogger_transcripts_pending", "endpoint=\"local-archive\""), Is.Zero);
            Assert.That(Value(body, "imlogger_transcripts_dead", "endpoint=\"local-archive\""), Is.Zero);
            Assert.That(Value(body, "imlogger_server_side_current", "domain=\"example.test\""), Is.EqualTo(1));
            Assert.That(body, Does.Contain("process_working_set_bytes"), "the process's own figures");
            Assert.That(body, Does.Not.Contain(TapDeployment.Secret), "no secret in the figures");
        });

        (status, body) = await GetAsync(port, "/nothing-here");
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));

        // The server goes away: red, saying why.
        await world.Prosody.StopAsync();
        // Polled until red (a bound against a hang, not a speed check): the reader notices the closed stream first.
        for (var until = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < until; await Task.Delay(200))
        {
            (status, body) = await GetAsync(port, "/health");
            if (status != HttpStatusCode.OK) break;
        }
        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
        Assert.That(body, Does.Contain("disconnected"));
        (_, body) = await GetAsync(port, "/metrics");
        Assert.That(Value(body, "imlogger_component_connected"), Is.Zero);
    }

    [Test, CancelAfter(60_000)]
    public async Task AListenAddressBeyondLoopbackIsRefusedWithItsLine()
    {
        var dir = Directory.CreateTempSubdirectory("imlogger-metrics-").FullName;
        try
        {
            var config = Path.Combine(dir, "imlogger.xml");
            await File.WriteAllTextAsync(config, $"""
                <imlogger>
                  <component jid="archive.example.test" secret-env="IMLOGGER_COMPONENT_SECRET" />
                  <spool path="spool.db" />
                  <metrics listen="0.0.0.0:9464" />
                  <organization domain="example.test" endpoint="a" seats="1"><user jid="alice@example.test" /></organization>
                  <endpoints><directory name="a" path="archive" /></endpoints>
                </imlogger>
                """);
            var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--config", config);
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("imlogger.xml:4").And.Contain("loopback"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(int port, string path)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{port}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of the first sample of <paramref name="name"/> whose labels contain <paramref name="label"/>.</summary>
    private static double Value(string exposition, string name, string? label = null)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line[name.Length..];
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue;
            if (label != null && !rest.Contains(label, StringComparison.Ordinal)) continue;
            return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Fail($"no sample {name}{(label == null ? "" : "{" + label + "}")} in:\n{exposition}");
        return double.NaN;
    }
}

using ImLogger.Config;
using ImLogger.Dispatch;
using ImLogger.Integration.Tests.Support;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Issue 15's reload bug: a secure-smtp endpoint's subject or timeout changed in the file was accepted by a live reload
/// while the sinks built at start went on with the old settings. Driven as the host wires it (config file through
/// ConfigLoader, the reload's own checks, <see cref="LiveSinks"/> under a real <see cref="Dispatcher"/>, a real SMTP server).
/// </summary>
[TestFixture]
public class SmtpEndpointReloadTests
{
    private SmtpWorld _world = null!;

    [SetUp]
    public void SetUp() => _world = new SmtpWorld();

    [TearDown]
    public void TearDown() => _world.Dispose();

    private string Endpoint(int port, string subject, string timeout, string to) =>
        $"""<secure-smtp name="mail" {_world.SmtpAttributes(port).Replace("timeout=\"10s\"", $"timeout=\"{timeout}\"", StringComparison.Ordinal)} to="{to}" subject="{subject}" />""";

    private static LiveSinks Sinks(ImLoggerConfig config) =>
        new(config.Endpoints, e => EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@archive.example.test"));

    [Test, CancelAfter(60_000)]
    public async Task ReloadedSubjectTimeoutAndRecipients_TheNextDeliveryUsesThem()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var running = _world.WriteConfig(Endpoint(server.Port, "Old {type}", "10s", "journal@corp.example.com"), "mail");
        var live = Sinks(running);
        var dispatcher = new Dispatcher(_world.Spool, _world.Spool, live.Sinks, NullLogger<Dispatcher>.Instance, TimeProvider.System, new DispatcherOptions { QuickRetries = 0 });
        _world.Chat(2, 30, "mail");
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var next = _world.WriteConfig(Endpoint(server.Port, "New {type} with {participants}", "7s", "audit@corp.example.com"), "mail");
        Assert.That(ConfigHolder.NeedsRestart(running, next), Is.Null, "settings of an existing endpoint change live");
        var applied = live.Apply(next.Endpoints);
        _world.Chat(2, 30, "mail");
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var messages = server.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(applied.Select(c => c.ToString()), Is.EqualTo(new[] { "endpoint 'mail' (subject, to, timeout)" }));
            Assert.That(messages.Select(m => m.Subject), Is.EqualTo(new[] { "Old chat", "New chat with alice@example.test, bob@example.test" }));
            Assert.That(server.Envelopes.Select(r => r.Single()), Is.EqualTo(new[] { "journal@corp.example.com", "audit@corp.example.com" }),
                "delivered to the new recipient (the To header names the conversation's participants)");
            Assert.That(((SmtpSink)live.Sinks[0].Current).Config.Timeout, Is.EqualTo(TimeSpan.FromSeconds(7)));
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task ReloadMovingTheEndpointToAnotherServer_DeliversThere_AndARenameIsRefusedNamingBoth()
    {
        await using var first = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        await using var second = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var running = _world.WriteConfig(Endpoint(first.Port, "S", "10s", "journal@corp.example.com"), "mail");
        var live = Sinks(running);
        var dispatcher = new Dispatcher(_world.Spool, _world.Spool, live.Sinks, NullLogger<Dispatcher>.Instance, TimeProvider.System, new DispatcherOptions { QuickRetries = 0 });

        var moved = _world.WriteConfig(Endpoint(second.Port, "S", "10s", "journal@corp.example.com"), "mail");
        Assert.That(live.Apply(moved.Endpoints).Single().Settings, Is.EqualTo(new[] { "port" }));
        _world.Chat(1, 10, "mail");
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var renamed = _world.WriteConfig(Endpoint(second.Port, "S", "10s", "journal@corp.example.com").Replace("name=\"mail\"", "name=\"mail2\"", StringComparison.Ordinal), "mail2");
        Assert.Multiple(() =>
        {
            Assert.That(first.Messages, Is.Empty);
            Assert.That(second.Messages, Has.Count.EqualTo(1));
            Assert.That(ConfigHolder.NeedsRestart(moved, renamed), Does.Contain("endpoint 'mail' (removed)").And.Contain("endpoint 'mail2' (added)"));
            Assert.That(() => live.Apply(renamed.Endpoints), Throws.InvalidOperationException.With.Message.Contains("restart"));
        });
    }

    private static Dictionary<string, string> Env() => new()
    {
        [ImLoggerProcess.SecretVariable] = "component-secret",
        [SmtpWorld.PasswordVariable] = TestSmtpServer.Password,
    };

    /// <summary>The real process: an added endpoint is refused naming it; then a subject edit is applied, logged as such,
    /// and the transcript waiting for the (down) server goes out under the new subject once it is back.</summary>
    [Test, CancelAfter(120_000)]
    public async Task RunningService_RefusesAnAddedEndpoint_AppliesAnEditedSubject_AndSaysWhich()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        await server.StopAsync(); // down: the transcript waits in the spool
        var component = Paths.FreePort(); // no XMPP server: the component keeps retrying, the dispatcher works regardless
        _world.WriteConfig(Endpoint(server.Port, "Old {type}", "10s", "journal@corp.example.com"), "mail", componentPort: component);
        var id = _world.Chat(1, 10, "mail");
        _world.CloseSpool();

        await using (var imlogger = ImLoggerProcess.Start("imlogger", Env(), "run", "--config", _world.ConfigPath, "--log-config", Paths.NLogConfig))
        {
            await imlogger.WaitForLineAsync(l => l.Contains($"delivery of transcript {id}", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "a failed attempt while the server is down");

            _world.WriteConfig(Endpoint(server.Port, "Old {type}", "10s", "journal@corp.example.com") + $"""<directory name="more" path="{_world.ArchiveDir}" />""",
                "mail", componentPort: component);
            await imlogger.WaitForLineAsync(l => l.Contains("refused", StringComparison.Ordinal) && l.Contains("endpoint 'more' (added)", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the added endpoint refused, named");

            _world.WriteConfig(Endpoint(server.Port, "New {type}", "10s", "journal@corp.example.com"), "mail", componentPort: component);
            await imlogger.WaitForLineAsync(l => l.Contains("endpoint changes applied", StringComparison.Ordinal) && l.Contains("endpoint 'mail' (subject)", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the subject change applied, named");

            await server.StartAsync();
            await imlogger.WaitForLineAsync(l => l.Contains($"transcript {id}", StringComparison.Ordinal) && l.Contains("delivered to mail", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the delivery once the server is back");
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        }
        Assert.That(server.Messages.Select(m => m.Subject), Is.EqualTo(new[] { "New chat" }));
    }
}

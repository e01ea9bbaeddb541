using ImLogger.Dispatch;
using ImLogger.Integration.Tests.Support;
using ImLogger.Spool;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Never lose, never double: an SMTP outage while transcripts keep coming (in-process dispatcher on the real clock,
/// with a directory endpoint beside it), a crash of the real <c>imlogger</c> process between the server receiving a
/// transcript and the spool recording it, and the operator commands run as the real program.
/// </summary>
[TestFixture]
public class SmtpReliabilityTests
{
    private SmtpWorld _world = null!;

    [SetUp]
    public void SetUp() => _world = new SmtpWorld();

    [TearDown]
    public void TearDown() => _world.Dispose();

    private static async Task Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    private static Dictionary<string, string> Env(string password = TestSmtpServer.Password) => new()
    {
        [ImLoggerProcess.SecretVariable] = "component-secret",
        [SmtpWorld.PasswordVariable] = password,
    };

    [Test, CancelAfter(120_000)]
    public async Task Outage_EveryTranscriptArrivesOnceAfterwards_AndTheDirectoryEndpointKeptWorking()
    {
        var server = new TestSmtpServer(_world.Ca.Issue("localhost")); // not started: the SMTP server is down
        var config = _world.WriteConfig($"""
            <secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" />
            <directory name="dir" path="archive" />
            """, "mail");
        var options = new DispatcherOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(100), InitialRetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDelay = TimeSpan.FromSeconds(1), QuickRetries = 1, QuickRetryDelay = TimeSpan.FromMilliseconds(50), MaxAttempts = 10_000,
        };
        var dispatcher = _world.Dispatcher(config, options);
        using var stop = new CancellationTokenSource();
        var running = dispatcher.RunAsync(stop.Token);
        try
        {
            var ids = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                ids.Add(_world.GroupChat("mail", "dir"));
                dispatcher.Wake();
                await Task.Delay(150);
            }
            await Eventually(() => Directory.Exists(_world.ArchiveDir) && Directory.GetFiles(_world.ArchiveDir, "*.eml").Length == 6,
                TimeSpan.FromSeconds(20), "the directory endpoint to have all 6 transcripts during the outage");
            await Eventually(() => _world.Spool.Undelivered().Count(h => h.Deliveries.Any(d => d.Endpoint == "mail" && d.Attempts >= 2)) == 6,
                TimeSpan.FromSeconds(20), "each SMTP delivery to have failed and been rescheduled at least twice");
            Assert.That(_world.Spool.Undelivered().SelectMany(h => h.Deliveries).Select(d => d.Endpoint), Has.All.EqualTo("mail"), "only the SMTP endpoint is owed");
            Assert.That(_world.Spool.Undelivered().Select(h => h.Deliveries.Single().LastError), Has.All.Contain("cannot connect"));

            await server.StartAsync(); // the outage ends
            await Eventually(() => _world.Spool.Undelivered().Count == 0, TimeSpan.FromSeconds(30), "every transcript delivered and deleted from the spool");

            var messageIds = server.Messages.Select(m => m.MessageId).ToList();
            Assert.That(messageIds, Is.EquivalentTo(ids.Select(id => $"{id}@corp.example.com")), "each transcript exactly once");
            Assert.That(Directory.GetFiles(_world.ArchiveDir, "*.eml"), Has.Length.EqualTo(6));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            await server.DisposeAsync();
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task KilledBetweenSendingAndRecording_RedeliversUnderTheSameMessageId()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The server has the whole message; the 250 reply is held until the component has been killed.
        server.BeforeReply = async (_, ct) =>
        {
            received.TrySetResult();
            await release.Task.WaitAsync(ct);
        };
        _world.WriteConfig($"""<secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" />""", "mail",
            componentPort: Paths.FreePort()); // no XMPP server: the component keeps retrying, the dispatcher works regardless
        var id = _world.GroupChat("mail");
        _world.CloseSpool();

        await using (var first = ImLoggerProcess.Start("imlogger-1", Env(), "run", "--config", _world.ConfigPath, "--log-config", Paths.NLogConfig))
        {
            await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
            first.KillHard();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        server.BeforeReply = null;
        release.TrySetResult();
        Assert.That(server.Raw, Has.Count.EqualTo(1), "the server got the transcript before the crash");
        Assert.That(_world.Spool.Load(id), Is.Not.Null, "the crash came before the delivery was recorded");
        _world.CloseSpool();

        await using (var second = ImLoggerProcess.Start("imlogger-2", Env(), "run", "--config", _world.ConfigPath, "--log-config", Paths.NLogConfig))
        {
            await second.WaitForLineAsync(l => l.Contains($"transcript {id}", StringComparison.Ordinal) && l.Contains("delivered to mail", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the redelivery after the restart");
            Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        }

        var messages = server.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(messages, Has.Count.EqualTo(2), "delivered again after the restart (at-least-once)");
            Assert.That(messages.Select(m => m.MessageId).Distinct().ToList(), Is.EqualTo(new[] { $"{id}@corp.example.com" }),
                "the same Message-ID both times: one message to the archive, no distinct duplicate");
            Assert.That(messages[1].Subject, Is.EqualTo(messages[0].Subject));
            Assert.That(messages[1].TextBody, Is.EqualTo(messages[0].TextBody));
            Assert.That(_world.Spool.Load(id), Is.Null, "deleted from the spool after the confirmed delivery");
        });
    }

    [Test, CancelAfter(120_000)]
    public async Task TestEndpointCommand_PrintsEachStep_AndWhatIsWrong()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        _world.WriteConfig($"""<global-relay name="gr" {_world.SmtpAttributes(server.Port)} to="corp@globalrelay.example" />""", "gr");
        _world.CloseSpool();

        await using (var ok = ImLoggerProcess.Start("test-endpoint", Env(), "test-endpoint", "gr", "--config", _world.ConfigPath, "--send-probe"))
        {
            Assert.That(await ok.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, ok.Output);
            Assert.That(ok.Output, Does.Contain($"[ OK ] connect to localhost:{server.Port}")
                .And.Contain("[ OK ] STARTTLS: Tls1").And.Contain("issued by 'CN=ImLogger Test CA")
                .And.Contain("[ OK ] authenticate as 'archiver'").And.Contain("[ OK ] send probe").And.Contain("endpoint gr is ready"));
            Assert.That(ok.Output, Does.Not.Contain(TestSmtpServer.Password));
        }
        var probe = server.Messages.Single();
        Assert.That(probe.Headers["X-ImLogger-Probe"], Is.EqualTo("yes"));
        Assert.That(probe.Subject, Does.Contain("probe, not a transcript"));

        await using (var bad = ImLoggerProcess.Start("test-endpoint", Env("wrong-password-123"), "test-endpoint", "gr", "--config", _world.ConfigPath))
        {
            Assert.That(await bad.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.EqualTo(1), bad.Output);
            Assert.That(bad.Output, Does.Contain("[ OK ] STARTTLS").And.Contain("[FAIL] authenticate as 'archiver'")
                .And.Contain("refused the login").And.Contain("NOT ready"));
            Assert.That(bad.Output, Does.Not.Contain("wrong-password-123"));
        }
    }

    [Test, CancelAfter(120_000)]
    public async Task SpoolCommands_ShowStatusAndPutDeadLettersBack()
    {
        _world.WriteConfig("""<directory name="dir" path="archive" />""", "dir");
        var id = _world.GroupChat("dir");
        _world.Spool.RecordFailure(id, "dir", "permanent failure: disk says no", null, dead: true);
        _world.CloseSpool();

        async Task<(int Code, string Output)> Spool(params string[] words)
        {
            await using var p = ImLoggerProcess.Start("spool", Env(), ["spool", .. words, "--config", _world.ConfigPath]);
            return (await p.WaitForExitAsync(TimeSpan.FromSeconds(60)), p.Output);
        }

        var status = await Spool("status");
        Assert.That(status.Code, Is.Zero, status.Output);
        Assert.That(status.Output, Does.Match(@"dir\s+0\s+1\s").And.Contain("disk says no"));

        var show = await Spool("show", id);
        Assert.That(show.Code, Is.Zero, show.Output);
        Assert.That(show.Output, Does.Contain("endpoint dir: Dead").And.Contain("Thanks, reading now"));

        var retry = await Spool("retry", "dir");
        Assert.That(retry.Output, Does.Contain("1 dead delivery to 'dir' back to pending"));
        status = await Spool("status");
        Assert.That(status.Output, Does.Match(@"dir\s+1\s+0\s"));
        Assert.That(_world.Delivery(id, "dir").State, Is.EqualTo(DeliveryState.Pending));
        Assert.That(_world.Delivery(id, "dir").Attempts, Is.Zero);
    }
}

using ImLogger.Dispatch;
using ImLogger.Integration.Tests.Support;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Issue 14: after the end of DATA the server has the message; if its reply comes too late or the connection drops, the
/// message may or may not be accepted (RFC 1047). Before, quick retries and short backoff sent up to 9 copies of one
/// Message-ID. Now: exactly one copy over the window, no quick retry, the next attempt minutes away, the delivery record
/// says a copy may exist, and the later resend carries the same Message-ID and says it is a resend.
/// </summary>
[TestFixture]
public class SmtpUnknownOutcomeTests
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

    [Test, CancelAfter(120_000)]
    public async Task SpoolStatusAndShow_SayACopyMayExist()
    {
        _world.WriteConfig("""<directory name="dir" path="archive" />""", "dir");
        var id = _world.GroupChat("dir");
        _world.Spool.RecordCopyMayExist(id, "dir", SmtpWorld.T0);
        _world.Spool.RecordFailure(id, "dir", "the reply to the end of DATA never came", SmtpWorld.T0.AddMinutes(10), dead: false);
        _world.CloseSpool();
        var env = new Dictionary<string, string> { [ImLoggerProcess.SecretVariable] = "component-secret" };

        await using (var status = ImLoggerProcess.Start("spool", env, "spool", "status", "--config", _world.ConfigPath))
        {
            Assert.That(await status.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, status.Output);
            Assert.That(status.Output, Does.Contain("1 transcript(s) may already be in this endpoint's archive").And.Contain(SmtpSink.ResentHeader));
        }
        await using (var show = ImLoggerProcess.Start("spool", env, "spool", "show", id, "--config", _world.ConfigPath))
        {
            Assert.That(await show.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, show.Output);
            Assert.That(show.Output, Does.Contain("a copy may already exist (an attempt's outcome was unknown at 2026-03-02 09:30:00Z)"));
        }
    }

    private static IEnumerable<TestCaseData> Endings()
    {
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(async s =>
            {
                await Task.Delay(TimeSpan.FromSeconds(8), s.Stopping); // the 250 comes, but after the timeout and the deadline
                await s.FinishAsync();
            }),
            "the server sent nothing for 2 s").SetName("LateReplyAfterData");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(s =>
            {
                s.Drop();
                return Task.CompletedTask;
            }),
            "disconnected").SetName("ConnectionDroppedAfterData");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(s => s.FloodAsync("250-queued, and more\r\n"u8.ToArray())),
            "reply to the end of DATA is longer than 64 KiB").SetName("Hostile_EndlessReplyAfterData");
    }

    [TestCaseSource(nameof(Endings)), CancelAfter(90_000)]
    public async Task NoReplyToTheEndOfData_OneCopy_NoQuickRetry_MinutesBackoff_ThenResentMarkedWithTheSameMessageId(
        Func<MisbehavingSmtpServer.Session, Task> ending, string cause)
    {
        var sessions = 0;
        await using var server = new MisbehavingSmtpServer(async s =>
        {
            var first = Interlocked.Increment(ref sessions) == 1;
            await s.UpToEndOfDataAsync();
            if (first) await ending(s);
            else await s.FinishAsync();
        });
        var config = _world.WriteConfig($"""
            <secure-smtp name="bad" host="127.0.0.1" port="{server.Port}" insecure-plaintext-for-lab-only="yes" from="imlogger@corp.example.com" to="journal@corp.example.com" timeout="2s" deadline="4s" />
            <directory name="dir" path="archive" />
            """, "bad");
        var id = _world.GroupChat("bad", "dir");
        // Quick retries on and a short backoff: what multiplied copies before.
        var options = new DispatcherOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(100), QuickRetries = 2, QuickRetryDelay = TimeSpan.FromMilliseconds(50),
            InitialRetryDelay = TimeSpan.FromMilliseconds(200), MaxRetryDelay = TimeSpan.FromSeconds(1),
        };
        var started = DateTimeOffset.UtcNow;
        var dispatcher = _world.Dispatcher(config, options);
        using (var stop = new CancellationTokenSource())
        {
            var running = dispatcher.RunAsync(stop.Token);
            await Eventually(() => _world.Delivery(id, "bad").Attempts >= 1 && _world.Spool.Undelivered().Single().Deliveries.Count == 1,
                TimeSpan.FromSeconds(30), "the attempt to be recorded and the directory endpoint to deliver");
            // The window in which the old behaviour sent copy after copy (quick retries 50 ms apart, then 200 ms backoff).
            await Task.Delay(TimeSpan.FromSeconds(2));
            await stop.CancelAsync();
            await running;
        }

        var delivery = _world.Delivery(id, "bad");
        TestContext.Out.WriteLine($"next attempt {delivery.NextAttemptUtc:u}; error: {delivery.LastError}");
        Assert.Multiple(() =>
        {
            Assert.That(server.Received, Has.Count.EqualTo(1), "exactly one copy reached the server");
            Assert.That(server.Connections, Is.EqualTo(1), "no quick retry");
            Assert.That(delivery.Attempts, Is.EqualTo(1));
            Assert.That(delivery.NextAttemptUtc, Is.GreaterThanOrEqualTo(started + new DispatcherOptions().UnknownOutcomeRetryDelay),
                "the next attempt at least the unknown-outcome backoff away");
            Assert.That(delivery.CopyMayExistSinceUtc, Is.Not.Null, "the delivery record says a copy may exist");
            Assert.That(delivery.LastError, Does.Contain("reply to the end of DATA never came").And.Contain(cause)
                .And.Contain("a copy may already be in the archive"));
            Assert.That(Directory.GetFiles(_world.ArchiveDir, "*.eml"), Has.Length.EqualTo(1), "the other endpoint delivered");
            Assert.That(server.ScriptErrors, Is.Empty);
        });

        // Ten minutes later (a clock the test moves): the resend, marked, under the same Message-ID.
        var later = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(11));
        var resend = new Dispatcher(_world.Spool, _world.Spool, SmtpWorld.Sinks(config), NullLogger<Dispatcher>.Instance, later, new DispatcherOptions { QuickRetries = 0 });
        Assert.That(await resend.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        var copies = server.Received.ToArray();
        Assert.That(copies, Has.Length.EqualTo(2));
        static string MessageId(string data) => data.Split("\r\n").Single(l => l.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase));
        Assert.Multiple(() =>
        {
            Assert.That(MessageId(copies[1]), Is.EqualTo(MessageId(copies[0])), "the same Message-ID, so the archive keeps one");
            Assert.That(copies[0], Does.Not.Contain(SmtpSink.ResentHeader));
            Assert.That(copies[1], Does.Contain($"{SmtpSink.ResentHeader}: a previous attempt's outcome was unknown"));
            Assert.That(_world.Spool.Load(id), Is.Null, "delivered and deleted");
        });
    }
}

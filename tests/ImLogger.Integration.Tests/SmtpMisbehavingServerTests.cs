using System.Text;
using ImLogger.Dispatch;
using ImLogger.Integration.Tests.Support;
using ImLogger.Sinks;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Issue 14: a mail server (or anything on the path to it) that never stops talking, trickles, or goes silent after the
/// end of DATA. A scripted server over real TCP plays each case against the real sink and dispatcher, with a directory
/// endpoint beside it. For each: the delivery fails with an error naming the endpoint and what the server did, a failed
/// attempt is recorded (so backoff and dead letters work), the sink stopped reading (what the server managed to write is
/// bounded by the limit plus socket buffers, not by what it offered), and the healthy endpoint delivered. It runs alone:
/// the trickle cases measure the whole process's allocations, which fixtures running beside it would add to.
/// </summary>
[TestFixture, NonParallelizable]
public class SmtpMisbehavingServerTests
{
    /// <summary>What the server may have written once the sink stopped reading: 64 KiB of reply, a read buffer, and the
    /// kernel's socket buffers on both sides of the loopback (the receiver's grows to a few MiB).</summary>
    private const long WrittenBound = 16L * 1024 * 1024;

    private SmtpWorld _world = null!;

    [SetUp]
    public void SetUp() => _world = new SmtpWorld();

    [TearDown]
    public void TearDown() => _world.Dispose();

    private static readonly byte[] ContinuationLine = Encoding.ASCII.GetBytes("220-" + new string('x', 1018) + "\r\n");

    private string PlainEndpoint(int port, string extra = "") =>
        $"""<secure-smtp name="bad" host="127.0.0.1" port="{port}" insecure-plaintext-for-lab-only="yes" from="imlogger@corp.example.com" to="journal@corp.example.com" timeout="2s" deadline="3s" {extra} />""";

    private static async Task Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Runs the dispatcher over one transcript owed to the bad endpoint and a directory until both are settled;
    /// returns the bad endpoint's delivery record.</summary>
    private async Task<EndpointDelivery> FailedAttempt(MisbehavingSmtpServer server, string badEndpoint, DispatcherOptions? options = null)
    {
        var config = _world.WriteConfig(badEndpoint + "\n<directory name=\"dir\" path=\"archive\" />", "bad");
        var id = _world.GroupChat("bad", "dir");
        var dispatcher = _world.Dispatcher(config, options ?? new DispatcherOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(100), QuickRetries = 0,
            InitialRetryDelay = TimeSpan.FromMinutes(10), MaxRetryDelay = TimeSpan.FromMinutes(10),
        });
        using var stop = new CancellationTokenSource();
        var running = dispatcher.RunAsync(stop.Token);
        try
        {
            await Eventually(() => _world.Delivery(id, "bad").Attempts >= 1 && _world.Spool.Undelivered().Single().Deliveries.Count == 1,
                TimeSpan.FromSeconds(30), "the failed attempt to be recorded and the directory endpoint to deliver");
            Assert.That(_world.Spool.Undelivered().Single().Deliveries.Select(d => d.Endpoint), Is.EqualTo(new[] { "bad" }),
                "the directory endpoint delivered regardless");
            Assert.That(Directory.GetFiles(_world.ArchiveDir, "*.eml"), Has.Length.EqualTo(1));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
        var delivery = _world.Delivery(id, "bad");
        Assert.Multiple(() =>
        {
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Pending), "transient: retried later, dead after max-attempts");
            Assert.That(delivery.NextAttemptUtc, Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(5)), "backoff as for any failure");
            Assert.That(delivery.LastError, Does.StartWith($"endpoint 'bad' (127.0.0.1:{server.Port})").Or.StartWith($"endpoint 'bad' (localhost:{server.Port})"));
            Assert.That(server.ScriptErrors, Is.Empty);
        });
        return delivery;
    }

    /// <summary>The cases the issue lists and a few more; each script plays against a session that never gets further.</summary>
    private static IEnumerable<TestCaseData> Floods()
    {
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(s => s.FloodAsync(ContinuationLine, 200L * 1024 * 1024)),
            "the server's greeting is longer than 64 KiB").SetName("Greeting_Of200MiB");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(s => s.FloodAsync(ContinuationLine)),
            "the server's greeting is longer than 64 KiB").SetName("Greeting_Endless");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(async s =>
            {
                await s.WriteAsync("220 ");
                await s.FloodAsync(Encoding.ASCII.GetBytes(new string('y', 4096)));
            }),
            "reply line longer than 4 KiB while ImLogger waited for the greeting").SetName("Greeting_OneLineWithoutAnEnd");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(async s =>
            {
                await s.WriteAsync("220 ");
                await s.FloodAsync(new byte[4096]);
            }),
            "reply line longer than 4 KiB while ImLogger waited for the greeting").SetName("Hostile_GreetingOfNulBytes");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(async s =>
            {
                await s.WriteAsync("220 scripted.example ESMTP\r\n");
                await s.ReadLineAsync(); // EHLO
                await s.FloodAsync(Encoding.ASCII.GetBytes("250-X\r\n")); // thousands of tiny continuation lines, never a last one
            }),
            "the server's reply to EHLO is longer than 64 KiB").SetName("Hostile_EhloReplyOfEndlessContinuationLines");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(async s =>
            {
                await s.WriteAsync("220 scripted.example ESMTP\r\n");
                await s.ReadLineAsync(); // EHLO
                await s.WriteAsync("250 scripted.example\r\n");
                await s.ReadLineAsync(); // MAIL FROM
                await s.FloodAsync(Encoding.ASCII.GetBytes("250-Ok, and another thing\r\n"));
            }),
            "the server's reply to MAIL FROM is longer than 64 KiB").SetName("Hostile_MailFromReplyThatNeverEnds");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(s => s.TrickleAsync("220 " + new string('s', 200) + "\r\n", TimeSpan.FromMilliseconds(500))),
            "longer than the 3 s deadline while waiting for the greeting").SetName("Greeting_TrickledOneByteAtATime");
        yield return new TestCaseData(
            (Func<MisbehavingSmtpServer.Session, Task>)(async s =>
            {
                await s.WriteAsync("220 scripted.example ESMTP\r\n");
                await s.ReadLineAsync(); // EHLO
                await s.TrickleAsync("250-scripted.example\r\n250-" + new string('s', 200) + "\r\n250 8BITMIME\r\n", TimeSpan.FromMilliseconds(500));
            }),
            "longer than the 3 s deadline while waiting for the reply to EHLO").SetName("Hostile_EhloReplyTrickled");
    }

    [TestCaseSource(nameof(Floods)), CancelAfter(60_000)]
    public async Task ServerThatNeverStopsOrTrickles_FailsTheAttemptWithAClearError_StopsReading_AndTheOtherEndpointDelivers(
        Func<MisbehavingSmtpServer.Session, Task> script, string expected)
    {
        await using var server = new MisbehavingSmtpServer(script);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);

        var delivery = await FailedAttempt(server, PlainEndpoint(server.Port));

        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        TestContext.Out.WriteLine($"server wrote {server.BytesWritten:N0} bytes; the process allocated {allocated:N0} bytes; error: {delivery.LastError}");
        Assert.Multiple(() =>
        {
            Assert.That(delivery.LastError, Does.Contain(expected));
            Assert.That(delivery.Attempts, Is.EqualTo(1));
            Assert.That(server.BytesWritten, Is.LessThan(WrittenBound), "the sink stopped reading");
            Assert.That(allocated, Is.LessThan(128L * 1024 * 1024), "nothing near what the server offered was kept");
            Assert.That(server.Connections, Is.EqualTo(1));
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task HugeEhloReplyAfterStartTls_FailsWithAClearError_AndStopsReading()
    {
        using var certificate = _world.Ca.Issue("localhost");
        await using var server = new MisbehavingSmtpServer(async s =>
        {
            await s.WriteAsync("220 scripted.example ESMTP\r\n");
            await s.ReadLineAsync(); // EHLO
            await s.WriteAsync("250-scripted.example\r\n250 STARTTLS\r\n");
            await s.ReadLineAsync(); // STARTTLS
            await s.WriteAsync("220 go ahead\r\n");
            await s.StartTlsAsync(certificate);
            await s.ReadLineAsync(); // EHLO again, under TLS
            await s.FloodAsync(Encoding.ASCII.GetBytes("250-" + new string('t', 500) + "\r\n"));
        });

        var delivery = await FailedAttempt(server,
            $"""<secure-smtp name="bad" host="localhost" port="{server.Port}" tls="starttls" ca-file="test-ca.pem" from="imlogger@corp.example.com" to="journal@corp.example.com" timeout="2s" deadline="5s" />""");

        TestContext.Out.WriteLine($"server wrote {server.BytesWritten:N0} bytes; error: {delivery.LastError}");
        Assert.That(delivery.LastError, Does.Contain("the server's reply to EHLO after STARTTLS is longer than 64 KiB"));
        Assert.That(server.BytesWritten, Is.LessThan(WrittenBound));
    }

    [Test, CancelAfter(60_000)]
    public async Task ALongButFiniteEhloReply_WithinTheBounds_IsAccepted()
    {
        // 300 capability lines of 150 bytes, 45 KiB in all: far beyond RFC 5321's habits but within the bounds, so still delivered.
        var ehlo = new StringBuilder("250-scripted.example\r\n");
        for (var i = 0; i < 300; i++) ehlo.Append("250-X-CAP").Append(i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture)).Append(' ', 134).Append("\r\n");
        ehlo.Append("250 8BITMIME\r\n");
        await using var server = new MisbehavingSmtpServer(async s =>
        {
            await s.WriteAsync("220 scripted.example ESMTP\r\n");
            await s.ReadLineAsync();
            await s.WriteAsync(ehlo.ToString());
            for (var i = 0; i < 2; i++)
            {
                await s.ReadLineAsync(); // MAIL, RCPT
                await s.WriteAsync("250 ok\r\n");
            }
            await s.ReadLineAsync(); // DATA
            await s.WriteAsync("354 go ahead\r\n");
            await s.ReadDataAsync();
            await s.FinishAsync();
        });
        var config = _world.WriteConfig(PlainEndpoint(server.Port), "bad");
        var id = _world.GroupChat("bad");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1),
            () => _world.Delivery(id, "bad").LastError ?? "");
        Assert.That(server.Received, Has.Count.EqualTo(1));
        Assert.That(_world.Spool.Load(id), Is.Null);
        Assert.That(server.ScriptErrors, Is.Empty);
    }
}

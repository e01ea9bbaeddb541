using System.Text.RegularExpressions;
using ImLogger.Dispatch;
using ImLogger.Integration.Tests.Support;
using ImLogger.Spool;
using MimeKit;
using SmtpServer.Protocol;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Transcripts larger than an SMTP server takes (issue 12: 150 messages of 240 KB were dead-lettered by a 552 from a
/// server with Postfix's 10 MB limit): against the real test SMTP server over TCP with STARTTLS and a size limit, driven
/// in-process (config through ConfigLoader, LiteDB spool, Dispatcher, sinks) as <see cref="SmtpEndpointTests"/> is.
/// </summary>
[TestFixture]
public class SmtpSizeLimitTests
{
    /// <summary>Postfix's default message_size_limit.</summary>
    private const int PostfixLimit = 10_240_000;

    private SmtpWorld _world = null!;

    [SetUp]
    public void SetUp() => _world = new SmtpWorld();

    [TearDown]
    public void TearDown() => _world.Dispose();

    [Test, CancelAfter(180_000)]
    public async Task SecureSmtp_ThirtyMbTranscriptToATenMbServer_AllPartsArriveInOrderUnderTheLimit()
    {
        await using var server = new TestSmtpServer(_world.Ca.Issue("localhost")) { SizeLimit = PostfixLimit };
        await server.StartAsync();
        // A configured maximum above the server's: the SIZE from EHLO must win.
        var config = _world.WriteConfig($"""
            <secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" max-message-size="50MB" />
            """, "mail");
        var id = _world.Chat(messages: 125, size: 240_000, "mail"); // 30 MB of text, twice that as text and HTML

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var parts = server.Messages;
        Assert.That(parts, Has.Count.GreaterThan(3));
        Assert.Multiple(() =>
        {
            Assert.That(server.RefusedForSize, Is.Zero, "the limit came from EHLO; nothing was sent to be refused");
            Assert.That(server.Raw.Select(r => r.Length), Has.All.LessThanOrEqualTo(PostfixLimit));
            Assert.That(_world.Spool.Load(id), Is.Null, "delivered, not dead-lettered");
        });
        AssertOrderedParts(parts, id, messages: 125);
    }

    [Test, CancelAfter(120_000)]
    public async Task DrcCm_ServerThatAnnouncesNoSize_552LeadsToSmallerParts_NotADeadLetter()
    {
        await using var server = new TestSmtpServer(_world.Ca.Issue("localhost")) { SizeLimit = 1_000_000, AnnounceSize = false };
        await server.StartAsync();
        var config = _world.WriteConfig($"""<drc-cm name="drc" {_world.SmtpAttributes(server.Port)} to="journal@drc.corp.example.com" />""", "drc");
        var id = _world.Chat(messages: 60, size: 40_000, "drc");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var parts = server.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(server.RefusedForSize, Is.GreaterThanOrEqualTo(1), "the whole transcript was tried and refused first");
            Assert.That(server.Raw.Select(r => r.Length), Has.All.LessThanOrEqualTo(1_000_000));
            Assert.That(_world.Spool.Load(id), Is.Null, "delivered, not dead-lettered");
            Assert.That(parts.Select(p => p.Attachments.OfType<MimePart>().Single().FileName),
                Is.EqualTo(Enumerable.Range(1, parts.Count).Select(k => $"conversation-{id}.part{k}.xml")), "each part carries its own conversation XML");
        });
        AssertOrderedParts(parts, id, messages: 60);
    }

    [Test, CancelAfter(120_000)]
    public async Task PartialFailure_TheRetrySendsOnlyThePartsNotYetAccepted()
    {
        await using var server = new TestSmtpServer(_world.Ca.Issue("localhost"));
        // After the second part is stored, the server starts answering 451 (a disk filling up): part 3 fails, transiently.
        server.BeforeReply = (_, _) =>
        {
            if (server.Raw.Count == 2) server.RejectWith = new SmtpResponse(SmtpReplyCode.InsufficientStorage, "4.3.1 insufficient system storage");
            return Task.CompletedTask;
        };
        await server.StartAsync();
        var config = _world.WriteConfig($"""
            <secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" max-message-size="256KB" />
            """, "mail");
        var id = _world.Chat(messages: 100, size: 9_000, "mail");
        var options = new DispatcherOptions { QuickRetries = 0, InitialRetryDelay = TimeSpan.FromMilliseconds(1), MaxRetryDelay = TimeSpan.FromMilliseconds(1) };

        Assert.That(await _world.Dispatcher(config, options).DeliverDueAsync(CancellationToken.None), Is.Zero);
        var afterFailure = _world.Delivery(id, "mail");
        Assert.Multiple(() =>
        {
            Assert.That(afterFailure.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(afterFailure.LastError, Does.Contain("452"));
            Assert.That(afterFailure.PartsAccepted, Is.EqualTo(2), "the two accepted parts are on record");
            Assert.That(afterFailure.EventsAccepted, Is.GreaterThan(0).And.LessThan(100));
        });

        server.BeforeReply = null;
        server.RejectWith = null;
        await Task.Delay(50); // the 1 ms retry delay has passed
        Assert.That(await _world.Dispatcher(config, options).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var parts = server.Messages;
        Assert.That(parts.Select(p => p.MessageId), Is.Unique, "no accepted part was sent again");
        AssertOrderedParts(parts, id, messages: 100);
    }

    [Test, CancelAfter(180_000)]
    public async Task KilledWhileAPartAwaitsItsReply_TheRestartResendsOnlyThatPart_UnderItsMessageId()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The server has part 3 whole; its 250 reply is held until the real process has been killed.
        server.BeforeReply = async (_, ct) =>
        {
            if (server.Raw.Count < 3) return;
            received.TrySetResult();
            await release.Task.WaitAsync(ct);
        };
        _world.WriteConfig($"""
            <secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" max-message-size="128KB" />
            """, "mail", componentPort: Paths.FreePort()); // no XMPP server: the dispatcher works regardless
        var id = _world.Chat(messages: 80, size: 6_000, "mail");
        _world.CloseSpool();
        var env = new Dictionary<string, string> { [ImLoggerProcess.SecretVariable] = "component-secret", [SmtpWorld.PasswordVariable] = TestSmtpServer.Password };

        await using (var first = ImLoggerProcess.Start("imlogger-1", env, "run", "--config", _world.ConfigPath, "--log-config", Paths.NLogConfig))
        {
            await received.Task.WaitAsync(TimeSpan.FromSeconds(60));
            first.KillHard();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        server.BeforeReply = null;
        release.TrySetResult();
        var recorded = _world.Delivery(id, "mail");
        Assert.That(recorded.PartsAccepted, Is.EqualTo(2), "parts 1 and 2 were recorded as they were accepted; part 3's reply never came");
        _world.CloseSpool();

        await using (var second = ImLoggerProcess.Start("imlogger-2", env, "run", "--config", _world.ConfigPath, "--log-config", Paths.NLogConfig))
        {
            await second.WaitForLineAsync(l => l.Contains($"transcript {id}", StringComparison.Ordinal) && l.Contains("delivered to mail", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the rest delivered after the restart");
            Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero);
        }

        var messages = server.Messages;
        var ids = messages.Select(m => m.MessageId).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ids.Take(3), Is.Unique);
            Assert.That(ids[3], Is.EqualTo(ids[2]), "part 3 again, under the same Message-ID (the archive keeps one)");
            Assert.That(ids.Skip(3), Is.Unique, "parts 1 and 2 were not sent again");
            Assert.That(_world.Spool.Load(id), Is.Null);
        });
        var once = messages.Take(3).Concat(messages.Skip(4)).ToList();
        AssertOrderedParts(once, id, messages: 80);
    }

    [Test, CancelAfter(60_000)]
    public async Task ServerLimitTooSmallForAnyPart_KeptPendingWithWhatToDo()
    {
        await using var server = new TestSmtpServer(_world.Ca.Issue("localhost")) { SizeLimit = 20_000 };
        await server.StartAsync();
        var config = _world.WriteConfig($"""<secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" />""", "mail");
        var id = _world.Chat(messages: 10, size: 100, "mail");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.Zero);

        var delivery = _world.Delivery(id, "mail");
        Assert.Multiple(() =>
        {
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Pending), "a server setting to fix, not a transcript to give up on");
            Assert.That(delivery.LastError, Does.Contain("at most 20000 bytes").And.Contain("Raise the server's message size limit"));
            Assert.That(server.Raw, Is.Empty);
        });
    }

    /// <summary>Parts numbered 1..n in subject, header and body, in order, threaded to the transcript's Message-ID, with
    /// every message of the transcript exactly once and in order across them.</summary>
    private static void AssertOrderedParts(IReadOnlyList<MimeMessage> parts, string id, int messages)
    {
        var n = parts.Count;
        Assert.Multiple(() =>
        {
            Assert.That(parts.Select(p => p.Headers["X-ImLogger-Part"]), Is.EqualTo(Enumerable.Range(1, n).Select(k => $"{k}/{n}")));
            Assert.That(parts.Select(p => Regex.Match(p.Subject ?? "", @"\(part (\d+) of (\d+)\)$").Value),
                Is.EqualTo(Enumerable.Range(1, n).Select(k => $"(part {k} of {n})")));
            for (var k = 0; k < n; k++)
            {
                Assert.That(parts[k].TextBody, Does.Contain($"Part {k + 1} of {n} of this transcript"));
                Assert.That(parts[k].MessageId, Does.StartWith($"{id}.part{k + 1}.e"));
                Assert.That(parts[k].References, Is.EqualTo(new[] { $"{id}@corp.example.com" }));
                Assert.That(parts[k].Headers["X-ImLogger-Transcript-Id"], Is.EqualTo(id));
            }
            var all = string.Join("\n", parts.Select(p => p.TextBody));
            var at = -1;
            for (var i = 0; i < messages; i++)
            {
                var found = Regex.Matches(all, $"message #{i:D4} ");
                Assert.That(found, Has.Count.EqualTo(1), $"message {i} exactly once");
                if (found.Count == 1)
                {
                    Assert.That(found[0].Index, Is.GreaterThan(at), $"message {i} after message {i - 1}");
                    at = found[0].Index;
                }
            }
        });
    }
}

using System.Xml.Linq;
using ImLogger.Integration.Tests.Support;
using ImLogger.Spool;
using MimeKit;
using SmtpServer.Protocol;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The three SMTP endpoint types against a real SMTP server on loopback TCP (STARTTLS with a certificate from a test CA,
/// AUTH required): what arrives is parsed with MimeKit and every promised field is checked. Driven in-process
/// (config file through ConfigLoader, LiteDB spool, Dispatcher, sinks): a process boundary adds nothing to what is
/// checked here; the crash test in <see cref="SmtpReliabilityTests"/> uses the real process.
/// </summary>
[TestFixture]
public class SmtpEndpointTests
{
    private const string AddressRule = "{local}@im.corp.example.com";

    private SmtpWorld _world = null!;

    [SetUp]
    public void SetUp() => _world = new SmtpWorld();

    [TearDown]
    public void TearDown() => _world.Dispose();

    [Test, CancelAfter(60_000)]
    public async Task SecureSmtp_DeliversTheTranscriptAsMailWithTextAndHtml()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        const string subject = "[IM archive] {type} {conversation}: {messages} messages";
        var config = _world.WriteConfig($"""
            <secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com, audit@corp.example.com"
                         subject="{subject}" />
            """, "mail");
        var id = _world.GroupChat("mail");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var message = server.Messages.Single();
        Assert.Multiple(() =>
        {
            Assert.That(server.Logins, Is.EqualTo(1), "authenticated");
            Assert.That(message.MessageId, Is.EqualTo($"{id}@corp.example.com"));
            Assert.That(message.Sender?.Address, Is.EqualTo("imlogger@corp.example.com"), "the archive sent it");
            Assert.That(message.From.Mailboxes.Select(m => (m.Name, m.Address)), Is.EqualTo(new[] { ("bob", "bob@example.test") }), "the first to speak");
            Assert.That(message.To.Mailboxes.Select(m => (m.Name, m.Address)), Is.EqualTo(new[] { ("carol", "carol@partner.test") }), "who else spoke");
            Assert.That(message.Cc.Mailboxes.Select(m => (m.Name, m.Address)), Is.EqualTo(new[] { ("alice", "alice@example.test") }), "who was only there");
            Assert.That(server.Envelopes.Single(), Is.EqualTo(new[] { "journal@corp.example.com", "audit@corp.example.com" }), "delivered to the configured recipients");
            Assert.That(message.Subject, Is.EqualTo("[IM archive] group chat room@conference.example.test: 2 messages"));
            Assert.That(message.Date, Is.EqualTo(SmtpWorld.T0.AddSeconds(100)), "the last event's time, not the idle close at 12 minutes");
            Assert.That(message.TextBody, Does.Contain("Quarterly numbers are in <b>the deck</b>").And.Contain("Thanks, reading now"));
            Assert.That(message.HtmlBody, Does.Contain("Quarterly numbers are in &lt;b&gt;the deck&lt;/b&gt;"), "user markup escaped");
            Assert.That(message.HtmlBody, Does.Contain(":-)"), "emoticon image as its text");
            Assert.That(message.Headers["X-ImLogger-Transcript-Id"], Is.EqualTo(id));
            Assert.That(_world.Spool.Load(id), Is.Null, "deleted from the spool once delivered");
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task GlobalRelay_DeliversOneEmlInGlobalRelaysConventions()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var config = _world.WriteConfig($"""
            <global-relay name="gr" {_world.SmtpAttributes(server.Port)} to="corp-archive@globalrelay.example" address="{AddressRule}" />
            """, "gr");
        var id = _world.GroupChat("gr");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var message = server.Messages.Single();
        Assert.Multiple(() =>
        {
            Assert.That(message.Headers["X-GlobalRelay-MsgType"], Is.EqualTo("XMPP"));
            // alice, bob, carol; 2 messages; first to last event 100 s -> 2 minutes
            Assert.That(message.Subject, Is.EqualTo("Chat, 3 Users, 2 Messages, 2 Minutes"));
            Assert.That(message.From.Mailboxes.Single().Address, Is.EqualTo("alice@im.corp.example.com"), "first sender, mapped by the address rule");
            Assert.That(message.To.Mailboxes.Select(m => m.Address), Is.EquivalentTo(new[] { "bob@im.corp.example.com", "carol@im.corp.example.com" }));
            Assert.That(message.Headers["Auto-Submitted"], Is.EqualTo("auto-generated"));
            Assert.That(message.Headers["Precedence"], Is.EqualTo("bulk"));
            Assert.That(message.MessageId, Is.EqualTo($"{id}@corp.example.com"));
            Assert.That(message.HtmlBody, Does.Contain("Thanks, reading now"));
            Assert.That(server.Raw.Single().Length, Is.LessThan(250L * 1024 * 1024));
        });
    }

    [Test, CancelAfter(120_000)]
    public async Task GlobalRelay_SplitsATranscriptOverTheCapIntoNumberedPartsAndDropsNothing()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var config = _world.WriteConfig($"""
            <global-relay name="gr" {_world.SmtpAttributes(server.Port)} to="corp-archive@globalrelay.example" msg-type="CorpXMPP" max-eml-bytes="65536" />
            """, "gr");
        var id = _world.Chat(messages: 240, size: 900, "gr");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var parts = server.Messages;
        Assert.That(parts, Has.Count.GreaterThan(2));
        Assert.Multiple(() =>
        {
            Assert.That(server.Raw.Select(r => r.Length), Has.All.LessThanOrEqualTo(65536));
            Assert.That(parts.Select((p, k) => (p.MessageId ?? "").StartsWith($"{id}.part{k + 1}.e", StringComparison.Ordinal) && (p.MessageId ?? "").EndsWith("@corp.example.com", StringComparison.Ordinal)),
                Has.All.True, "Message-IDs name the transcript, the part and its events");
            Assert.That(parts.Select(p => p.Subject), Has.All.Match(@"^Chat, 2 Users, \d+ Messages, \d+ Minutes \(part \d+ of " + parts.Count + @"\)$"));
            Assert.That(parts.Select(p => p.Headers["X-GlobalRelay-MsgType"]), Has.All.EqualTo("CorpXMPP"));
            Assert.That(parts.Select(p => p.Headers["X-ImLogger-Transcript-Id"]), Has.All.EqualTo(id));
            var all = string.Join("\n", parts.Select(p => p.TextBody));
            for (var i = 0; i < 240; i++)
                Assert.That(System.Text.RegularExpressions.Regex.Matches(all, $"message #{i:D4} ").Count, Is.EqualTo(1), $"message {i} exactly once");
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task DrcCm_DeliversReadableBodyAndConversationXmlAttachment()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var config = _world.WriteConfig($"""
            <drc-cm name="drc" {_world.SmtpAttributes(server.Port)} to="journal@drc.corp.example.com" />
            """, "drc");
        var id = _world.GroupChat("drc");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        var message = server.Messages.Single();
        var attachment = message.Attachments.OfType<MimePart>().Single();
        using var content = new MemoryStream();
        attachment.Content!.DecodeTo(content);
        var conversation = XDocument.Parse(System.Text.Encoding.UTF8.GetString(content.ToArray())).Root!.Element("Conversation")!;
        long Epoch(DateTimeOffset t) => t.ToUnixTimeSeconds();
        Assert.Multiple(() =>
        {
            Assert.That(message.MessageId, Is.EqualTo($"{id}@corp.example.com"));
            Assert.That(message.To.Mailboxes.Single().Address, Is.EqualTo("journal@drc.corp.example.com"));
            Assert.That(message.TextBody, Does.Contain("Thanks, reading now"), "readable body");
            Assert.That(attachment.FileName, Is.EqualTo($"conversation-{id}.xml"));
            Assert.That(attachment.ContentType.MimeType, Is.EqualTo("application/xml"));
            Assert.That((string?)conversation.Element("RoomID"), Is.EqualTo("room@conference.example.test"));
            Assert.That((long)conversation.Element("StartTimeUTC")!, Is.EqualTo(Epoch(SmtpWorld.T0)));
            Assert.That((long)conversation.Element("EndTimeUTC")!, Is.EqualTo(Epoch(SmtpWorld.T0.AddMinutes(12))));
            Assert.That(conversation.Elements("ParticipantEntered").Select(e => (string?)e.Element("LoginName")),
                Is.EqualTo(new[] { "alice@example.test", "bob@example.test", "carol@partner.test" }));
            var messages = conversation.Elements("Message").ToList();
            Assert.That(messages.Select(m => (string?)m.Element("LoginName")), Is.EqualTo(new[] { "bob@example.test", "carol@partner.test" }));
            Assert.That(messages.Select(m => (long)m.Element("DateTimeUTC")!), Is.EqualTo(new[] { Epoch(SmtpWorld.T0.AddSeconds(30)), Epoch(SmtpWorld.T0.AddSeconds(90)) }));
            Assert.That((string?)messages[0].Element("Content"), Is.EqualTo("Quarterly numbers are in <b>the deck</b>"), "content as text, not markup");
            var left = conversation.Elements("ParticipantLeft").ToList();
            Assert.That(left.Select(e => (string?)e.Element("LoginName")), Is.EqualTo(new[] { "bob@example.test", "alice@example.test", "carol@partner.test" }));
            Assert.That((long)left[0].Element("DateTimeUTC")!, Is.EqualTo(Epoch(SmtpWorld.T0.AddSeconds(100))), "bob left at his leave");
            Assert.That((long)left[1].Element("DateTimeUTC")!, Is.EqualTo(Epoch(SmtpWorld.T0.AddMinutes(12))), "still present: left at the end");
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task ImplicitTls_DeliversOnAPort465StyleServer()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"), implicitTls: true);
        var attributes = _world.SmtpAttributes(server.Port).Replace("tls=\"starttls\"", "tls=\"implicit\"", StringComparison.Ordinal);
        var config = _world.WriteConfig($"""<secure-smtp name="mail" {attributes} to="journal@corp.example.com" />""", "mail");
        var id = _world.GroupChat("mail");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(server.Messages.Single().MessageId, Is.EqualTo($"{id}@corp.example.com"));
        Assert.That(server.Logins, Is.EqualTo(1));
    }

    [Test]
    public void GlobalRelay_ARedeliveredSplitTranscriptRepeatsTheSameParts()
    {
        var config = _world.WriteConfig($"""
            <global-relay name="gr" {_world.SmtpAttributes(587)} to="corp-archive@globalrelay.example" max-eml-bytes="65536" />
            """, "gr");
        var id = _world.Chat(messages: 150, size: 900, "gr");
        var transcript = _world.Spool.Load(id)!;
        var sink = (ImLogger.Sinks.GlobalRelaySink)SmtpWorld.Sinks(config).Single();

        var first = sink.Compose(transcript);
        var again = sink.Compose(transcript);

        Assert.That(first, Has.Count.GreaterThan(1));
        Assert.That(again.Select(m => m.MessageId), Is.EqualTo(first.Select(m => m.MessageId)));
        Assert.That(again.Select(m => m.TextBody), Is.EqualTo(first.Select(m => m.TextBody)));
    }

    [Test, CancelAfter(60_000)]
    public async Task WrongPassword_ClearErrorWithoutThePassword_TranscriptStaysInTheSpool()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        var config = _world.WriteConfig($"""<secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" />""", "mail",
            password: "not-the-password");
        var id = _world.GroupChat("mail");

        Assert.That(await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None), Is.Zero);

        var delivery = _world.Delivery(id, "mail");
        Assert.Multiple(() =>
        {
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Pending), "retried later, not dropped");
            Assert.That(delivery.LastError, Does.Contain("refused the login of user 'archiver'").And.Contain($"environment variable {SmtpWorld.PasswordVariable}"));
            Assert.That(delivery.LastError, Does.Not.Contain("not-the-password"), "never the password");
            Assert.That(_world.Spool.Load(id), Is.Not.Null);
            Assert.That(server.Raw, Is.Empty);
        });
    }

    /// <summary>One delivery pass of a group chat transcript to secure-smtp endpoint "mail" on <paramref name="server"/>:
    /// how many transcripts were delivered, and the transcript's delivery state after it.</summary>
    private async Task<(int Delivered, EndpointDelivery Delivery)> DeliverGroupChatAsync(TestSmtpServer server)
    {
        var config = _world.WriteConfig($"""<secure-smtp name="mail" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" />""", "mail");
        var id = _world.GroupChat("mail");
        var delivered = await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None);
        return (delivered, _world.Delivery(id, "mail"));
    }

    [Test, CancelAfter(60_000)]
    public async Task UntrustedCertificate_NamesBothCas_TranscriptStaysInTheSpool()
    {
        using var rogue = new TestCa("Rogue Interceptor CA");
        await using var server = await TestSmtpServer.StartAsync(rogue.Issue("localhost"));
        var (delivered, delivery) = await DeliverGroupChatAsync(server);

        Assert.That(delivered, Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(delivery.LastError, Does.Contain("certificate was refused")
                .And.Contain("issued by 'CN=Rogue Interceptor CA").And.Contain("CN=ImLogger Test CA").And.Contain(_world.CaFile));
            Assert.That(server.Raw, Is.Empty);
            Assert.That(server.Logins, Is.Zero, "no password was sent to the untrusted server");
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task CertificateForAnotherName_SaysWhichNames()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("mail.other.test"));
        var (_, delivery) = await DeliverGroupChatAsync(server);

        Assert.That(delivery.LastError, Does.Contain("DNS:mail.other.test").And.Contain("do not include the host name 'localhost'"));
        Assert.That(server.Raw, Is.Empty);
    }

    [Test, CancelAfter(60_000)]
    public async Task RefusedStartTls_NothingSentInPlainText_TranscriptStaysInTheSpool()
    {
        await using var server = await TestSmtpServer.StartAsync(certificate: null);
        var (delivered, delivery) = await DeliverGroupChatAsync(server);

        Assert.That(delivered, Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(delivery.LastError, Does.Contain("does not offer STARTTLS").And.Contain("never falls back to plain text"));
            Assert.That(server.Raw, Is.Empty);
            Assert.That(server.Logins, Is.Zero);
        });
    }

    [Test, CancelAfter(60_000)]
    public async Task SilentServer_TimesOut_TransientAndKept()
    {
        // Accepts the TCP connection and never greets: what a hung server or a black-holing middlebox looks like.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = silent.AcceptTcpClientAsync();
        var attributes = _world.SmtpAttributes(port).Replace("timeout=\"10s\"", "timeout=\"2s\"", StringComparison.Ordinal);
        var config = _world.WriteConfig($"""<secure-smtp name="mail" {attributes} to="journal@corp.example.com" />""", "mail");
        var id = _world.GroupChat("mail");

        var started = DateTime.UtcNow;
        await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None);

        var delivery = _world.Delivery(id, "mail");
        Assert.Multiple(() =>
        {
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(20)), "the timeout bounds the attempt");
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(delivery.LastError, Does.Contain("timed out"));
            Assert.That(_world.Spool.Load(id), Is.Not.Null);
        });
        (await accepted).Dispose();
    }

    [Test, CancelAfter(60_000)]
    public async Task RejectedMessage_IsADeadLetterWithTheServersReason()
    {
        await using var server = await TestSmtpServer.StartAsync(_world.Ca.Issue("localhost"));
        server.RejectWith = new SmtpResponse(SmtpReplyCode.TransactionFailed, "5.7.1 message content rejected by policy");
        var config = _world.WriteConfig($"""<drc-cm name="drc" {_world.SmtpAttributes(server.Port)} to="journal@corp.example.com" />""", "drc");
        var id = _world.GroupChat("drc");

        await _world.Dispatcher(config).DeliverDueAsync(CancellationToken.None);

        var delivery = _world.Delivery(id, "drc");
        Assert.Multiple(() =>
        {
            Assert.That(delivery.State, Is.EqualTo(DeliveryState.Dead));
            Assert.That(delivery.LastError, Does.Contain("permanent failure").And.Contain("DATA").And.Contain("554").And.Contain("rejected by policy"));
            Assert.That(_world.Spool.Load(id), Is.Not.Null, "a dead letter is kept");
        });
    }
}

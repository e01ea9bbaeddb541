using ImLogger.Conversations;
using ImLogger.Sinks;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace ImLogger.Tests.Sinks;

[TestFixture]
public sealed class DirectorySinkTests
{
    private TempDir _dir = null!;
    private TranscriptMessageBuilder _builder = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _builder = new TranscriptMessageBuilder("imlogger@archive.example.test");
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private DirectorySink Sink(string? directory = null) =>
        new("dir", directory ?? _dir.File("out"), _builder, NullLogger<DirectorySink>.Instance);

    [Test]
    public async Task Deliver_WritesAParseableEml_WithTextAndHtml()
    {
        var transcript = Events.Simple();
        var path = await Sink().DeliverAsync(transcript, CancellationToken.None);

        Assert.That(Path.GetFileName(path), Is.EqualTo($"20261125T083001Z-alice@example.test_bob@example.test-{transcript.Id}.eml"));
        using var message = await MimeMessage.LoadAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(message.Subject, Is.EqualTo("XMPP chat: alice@example.test, bob@example.test — 3 messages"));
            Assert.That(message.MessageId, Is.EqualTo($"{transcript.Id}@archive.example.test"));
            Assert.That(message.Sender?.Address, Is.EqualTo("imlogger@archive.example.test"), "the archive sent it");
            Assert.That(message.From.Mailboxes.Single().Address, Is.EqualTo("alice@example.test"), "the conversation's first sender");
            Assert.That(message.To.Mailboxes.Single().Address, Is.EqualTo("bob@example.test"));
            Assert.That(message.Date, Is.EqualTo(transcript.Events[^1].ReceivedUtc), "the last event's time, not the idle close");
            Assert.That(message.Date, Is.Not.EqualTo(transcript.ClosedUtc));
            Assert.That(message.Headers["X-ImLogger-Conversation"], Is.EqualTo("alice@example.test bob@example.test"));
            Assert.That(message.Headers["X-ImLogger-Participants"], Is.EqualTo("alice@example.test, bob@example.test"));
            Assert.That(message.Body, Is.InstanceOf<MultipartAlternative>());
            Assert.That(message.TextBody, Does.Contain("[2026-11-25 08:30:01Z] alice@example.test/laptop -> bob@example.test: hello bob"));
            Assert.That(message.TextBody, Does.Contain("[2026-11-25 08:30:06Z] bob@example.test/phone -> alice@example.test/laptop: hi alice"));
            Assert.That(message.HtmlBody, Does.StartWith("<!DOCTYPE html>").And.Contain("<table>").And.Contain("hello bob").And.Contain("UTC"));
        });
    }

    [Test]
    public async Task DeliveringTwice_LeavesOneFile_AndNoTempFile()
    {
        var transcript = Events.Simple();
        var sink = Sink();
        var first = await sink.DeliverAsync(transcript, CancellationToken.None);
        var second = await sink.DeliverAsync(transcript, CancellationToken.None);

        Assert.That(second, Is.EqualTo(first));
        var files = Directory.GetFiles(_dir.File("out"));
        Assert.That(files, Has.Length.EqualTo(1), string.Join(", ", files));
        Assert.That(files[0], Does.EndWith(".eml"));
    }

    [Test]
    public async Task HeaderInjection_NeverProducesAnExtraHeader()
    {
        const string evil = "eve\r\nBcc: x@y\r\nX-Evil: 1";
        var room = "room@conference.example.test\r\nBcc: x@y";
        var transcript = Events.Group(room,
            Events.Room(EventKind.Joined, room, evil, "eve@example.test\r\nBcc: x@y", Events.T0),
            Events.Room(EventKind.Message, room, evil, "eve@example.test\nBcc: x@y", Events.T0.AddSeconds(1), text: "hi\r\nBcc: x@y"));
        var oneToOne = Events.OneToOne(Events.Chat("alice@example.test/a\r\nBcc: x@y", "bob@example.test\nBcc: x@y", "x", Events.T0));

        foreach (var t in new[] { transcript, oneToOne })
        {
            var path = await Sink().DeliverAsync(t, CancellationToken.None);
            using var message = await MimeMessage.LoadAsync(path);
            Assert.That(message.Bcc, Is.Empty);
            Assert.That(message.Headers.Contains("Bcc"), Is.False);
            Assert.That(message.Headers.Contains("X-Evil"), Is.False);
            var headerBlock = File.ReadAllText(path).Split("\r\n\r\n")[0];
            Assert.That(headerBlock, Does.Not.Match("(?m)^(Bcc|X-Evil):"));
            Assert.That(message.Subject, Does.Not.Contain("\r").And.Not.Contain("\n"));
        }
    }

    [Test]
    public async Task UserHtml_IsEncoded_NeverInjected()
    {
        var e = Events.Chat("alice@example.test/laptop", "bob@example.test", "<script>alert(1)</script> & <b>bold</b>", Events.T0);
        var onlyHtml = Events.Chat("alice@example.test/laptop", "bob@example.test", "", Events.T0.AddSeconds(1),
            html: "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>see <img alt=':-)' src='x'/> <script>evil()</script><a href='http://x.test/'>link</a></p></body></html>");
        var path = await Sink().DeliverAsync(Events.OneToOne(e, onlyHtml), CancellationToken.None);
        using var message = await MimeMessage.LoadAsync(path);
        var html = message.HtmlBody;
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Not.Contain("<script"));
            Assert.That(html, Does.Not.Contain("<b>bold"));
            Assert.That(html, Does.Not.Contain("<img"));
            Assert.That(html, Does.Contain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"));
            Assert.That(html, Does.Contain("see :-)"));
            Assert.That(message.TextBody, Does.Contain("see :-)").And.Contain("link <http://x.test/>").And.Not.Contain("evil()"));
        });
    }

    [Test]
    public async Task GroupChat_RendersPresenceKicksBansAndNotices()
    {
        const string room = "room@conference.example.test";
        var t = Events.Group(room,
            Events.Room(EventKind.Present, room, "carol", null, Events.T0),
            Events.Room(EventKind.Joined, room, "bob", "bob@example.test", Events.T0.AddSeconds(1)),
            Events.Room(EventKind.Message, room, "bob", "bob@example.test", Events.T0.AddSeconds(2), text: "hello room\nsecond line"),
            Events.Room(EventKind.Left, room, "dave", null, Events.T0.AddSeconds(3), text: "spam", status: [307]),
            Events.Room(EventKind.Left, room, "mallory", null, Events.T0.AddSeconds(4), status: [301]),
            Events.Room(EventKind.Left, room, "bob", "bob@example.test", Events.T0.AddSeconds(5)),
            Events.Room(EventKind.Notice, room, "imlogger", null, Events.T0.AddSeconds(6), text: "This room is being logged."));
        var message = _builder.Build(t);
        var text = message.TextBody;
        Assert.Multiple(() =>
        {
            Assert.That(message.Subject, Is.EqualTo("XMPP group chat room@conference.example.test — 5 participants, 1 message"));
            Assert.That(text, Does.Contain("[2026-11-25 08:30:01Z] * carol was in the room"));
            Assert.That(text, Does.Contain("[2026-11-25 08:30:02Z] * bob (bob@example.test) joined the room"));
            Assert.That(text, Does.Contain("[2026-11-25 08:30:03Z] bob (bob@example.test): hello room\n    second line"));
            Assert.That(text, Does.Contain("* dave was kicked from the room: spam"));
            Assert.That(text, Does.Contain("* mallory was banned from the room"));
            Assert.That(text, Does.Contain("* bob (bob@example.test) left the room"));
            Assert.That(text, Does.Match(@"\[notice( to [^\]]+)?\] This room is being logged\."));
            Assert.That(message.HtmlBody, Does.Contain("hello room<br>"));
        });
    }

    [Test]
    public void Subject_TruncatesLongLists()
    {
        var t = Events.OneToOne(Events.Chat("a@x.test/r", "b@x.test", "x", Events.T0)) with
        {
            ConversationKey = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"user{i}@example.test")),
        };
        var subject = TranscriptMessageBuilder.Subject(t);
        Assert.That(subject, Does.Contain("and 35 more"));
        Assert.That(subject.Length, Is.LessThan(400));
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void UnwritableDirectory_GivesATransientSinkExceptionNamingThePath()
    {
        var locked = _dir.File("locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var probe = Path.Combine(locked, "probe");
            try
            {
                File.WriteAllText(probe, "");
                Assert.Ignore("running as root: permissions are not enforced");
            }
            catch (UnauthorizedAccessException)
            {
            }

            var ex = Assert.ThrowsAsync<SinkException>(() => Sink(locked).DeliverAsync(Events.Simple(), CancellationToken.None));
            Assert.That(ex!.IsTransient, Is.True);
            Assert.That(ex.Message, Does.Contain(locked).And.Contain("permission"));
        }
        finally
        {
            File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Test]
    public void DirectoryPathIsAFile_GivesATransientSinkExceptionNamingThePath()
    {
        var notADirectory = _dir.File("plain-file");
        File.WriteAllText(notADirectory, "x");
        var ex = Assert.ThrowsAsync<SinkException>(() => Sink(notADirectory).DeliverAsync(Events.Simple(), CancellationToken.None));
        Assert.That(ex!.IsTransient, Is.True);
        Assert.That(ex.Message, Does.Contain(notADirectory));
        Assert.That(ex.InnerException, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task EmlFile_UsesCrlfLineEndings()
    {
        var path = await Sink().DeliverAsync(Events.Simple(), CancellationToken.None);
        var raw = await File.ReadAllTextAsync(path);
        Assert.That(raw.Replace("\r\n", ""), Does.Not.Contain("\n"));
    }

    [Test]
    public async Task MissingDirectory_IsCreated()
    {
        var nested = Path.Combine(_dir.Path, "a", "b");
        var path = await Sink(nested).DeliverAsync(Events.Simple(), CancellationToken.None);
        Assert.That(File.Exists(path), Is.True);
        Assert.That(Path.GetDirectoryName(path), Is.EqualTo(nested));
    }

    [Test]
    public void FileName_IsSafeForHostileKeys()
    {
        var t = Events.Simple() with { ConversationKey = "../../etc/passwd x\\y", Id = "abc/../def" };
        var name = DirectorySink.FileNameFor(t);
        Assert.That(name, Does.Not.Contain("/").And.Not.Contain("\\").And.Not.StartWith("."));
        Assert.That(name, Is.EqualTo(DirectorySink.FileNameFor(t)), "stable");
    }
}

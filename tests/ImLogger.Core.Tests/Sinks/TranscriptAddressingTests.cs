using System.Text;
using ImLogger.Conversations;
using ImLogger.Sinks;
using MimeKit;

namespace ImLogger.Tests.Sinks;

/// <summary>Transcripts a compliance officer can sort (issue 19): From the first sender, To who else spoke, Cc who was only
/// there, Sender the archive, Date the last event; nicknames as display names, never raw in a header.</summary>
public sealed class TranscriptAddressingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);
    private const string Room = "room@conference.example.test";

    private static ConversationEvent RoomEvent(EventKind kind, int seconds, string jid, string nick, string? text = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = T0.AddSeconds(seconds), Kind = kind, Direction = Direction.Incoming,
        ConversationType = ConversationType.GroupChat, ConversationKey = Room, From = $"{Room}/{nick}", To = "alice@example.test/laptop",
        SenderBareJid = jid, Nick = nick, Text = text, StanzaType = kind == EventKind.Message ? "groupchat" : null,
        LoggedUsers = ["alice@example.test"], RawXml = "",
    };

    private static Transcript Of(params ConversationEvent[] events) => new()
    {
        Id = "0123456789abcdef0123456789abcdef", ConversationType = ConversationType.GroupChat, ConversationKey = Room,
        OpenedUtc = T0, ClosedUtc = T0.AddMinutes(30), Events = events,
    };

    private static MimeMessage Build(Transcript t) => new TranscriptMessageBuilder("imlogger@archive.example.test").Build(t);

    private static string RawHeaders(MimeMessage m)
    {
        using var buffer = new MemoryStream();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos; // as it goes over SMTP
        m.WriteTo(options, buffer);
        var raw = Encoding.UTF8.GetString(buffer.ToArray());
        return raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
    }

    [Test]
    public void ARoomIsAddressedFromItsFirstSpeakerToTheOtherSpeakersWithTheSilentInCc()
    {
        var m = Build(Of(
            RoomEvent(EventKind.Joined, 0, "alice@example.test", "alice"),
            RoomEvent(EventKind.Present, 0, "dave@example.test", "dave"),
            RoomEvent(EventKind.Message, 10, "bob@example.test", "Bobby", "numbers"),
            RoomEvent(EventKind.Message, 20, "carol@partner.test", "carol", "thanks"),
            RoomEvent(EventKind.Message, 30, "bob@example.test", "Bob B.", "bye")));
        Assert.Multiple(() =>
        {
            Assert.That(m.From.Mailboxes.Select(a => (a.Name, a.Address)), Is.EqualTo(new[] { ("Bob B.", "bob@example.test") }), "the nick last used");
            Assert.That(m.To.Mailboxes.Select(a => a.Address), Is.EqualTo(new[] { "carol@partner.test" }));
            Assert.That(m.Cc.Mailboxes.Select(a => a.Address), Is.EquivalentTo(new[] { "alice@example.test", "dave@example.test" }));
            Assert.That(m.Sender?.Address, Is.EqualTo("imlogger@archive.example.test"));
            Assert.That(m.Date, Is.EqualTo(T0.AddSeconds(30)), "the last event, not the close 30 minutes later");
            Assert.That(m.TextBody, Does.Contain("to 2026-11-25 14:02:41Z"), "the body's end time too");
        });
    }

    [TestCase("Eve\r\nBcc: victim@example.test")]
    [TestCase("=?utf-8?q?=0D=0ABcc:_victim@example.test?=")]
    [TestCase("\"quoted\" <evil@example.test>, other@example.test")]
    [TestCase("Zoë 🙂 \u202Eevil\u0000\u0007")]
    [TestCase("\uD800 half a surrogate")]
    public void AHostileNicknameIsADisplayNameOnly(string nick)
    {
        var m = Build(Of(RoomEvent(EventKind.Message, 1, "eve@example.test", nick + new string('x', 5000), "hi"),
            RoomEvent(EventKind.Message, 2, "alice@example.test", "alice", "hello")));
        var headers = RawHeaders(m);
        var reparsed = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(headers + "\r\n\r\nbody")));
        Assert.Multiple(() =>
        {
            Assert.That(headers.Split("\r\n").Where(l => !l.StartsWith(' ') && !l.StartsWith('\t')).Select(l => l[..Math.Max(0, l.IndexOf(':'))]),
                Does.Not.Contain("Bcc"), "no header smuggled in");
            Assert.That(headers.All(c => c == '\r' || c == '\n' || c == '\t' || (c >= ' ' && c < 0x7f)), Is.True, "headers are 7-bit (RFC 2047 encoded)");
            Assert.That(reparsed.From.Mailboxes.Single().Address, Is.EqualTo("eve@example.test"), "one sender, the real one");
            Assert.That(reparsed.To.Mailboxes.Select(a => a.Address), Is.EqualTo(new[] { "alice@example.test" }));
            Assert.That(reparsed.Bcc, Is.Empty);
            Assert.That(reparsed.From.Mailboxes.Single().Name, Does.Not.Contain("\r").And.Not.Contain("\n").And.Not.Contain("\u0000"));
            Assert.That(m.From.Mailboxes.Single().Name?.Length, Is.LessThanOrEqualTo(TranscriptMessageBuilder.MaxDisplayName), "very long text is cut");
            // On the wire MimeKit may fold an encoded name and a reader unfolds it with one space: still one short line.
            Assert.That(reparsed.From.Mailboxes.Single().Name?.Length, Is.LessThanOrEqualTo(TranscriptMessageBuilder.MaxDisplayName + 2));
        });
    }

    [Test]
    public void AJidThatIsNoMailAddressBecomesASafeToken()
    {
        var m = Build(Of(RoomEvent(EventKind.Message, 1, "a(b)@example.test", "dart", "hi"),
            RoomEvent(EventKind.Message, 2, "zoë@example.test", "zoe", "hi")));
        Assert.Multiple(() =>
        {
            Assert.That(m.From.Mailboxes.Single().Address, Is.EqualTo("a_b__example.test@archive.example.test"), "XMPP allows ( ) in a local part, mail does not");
            Assert.That(m.To.Mailboxes.Single().Address, Is.EqualTo("zo__example.test@archive.example.test"));
            Assert.That(m.To.Mailboxes.Single().Name, Is.EqualTo("zoe"));
        });
    }

    [Test]
    public void NobodyToAddressKeepsTheArchiveAddress()
    {
        var m = Build(Of(RoomEvent(EventKind.Message, 1, null!, "anon", "hi") with { SenderBareJid = null }));
        Assert.Multiple(() =>
        {
            Assert.That(m.From.Mailboxes.Single().Address, Is.EqualTo("imlogger@archive.example.test"));
            Assert.That(m.To.Mailboxes.Single().Address, Is.EqualTo("imlogger@archive.example.test"));
        });
    }
}

using System.Text;
using ImLogger.Conversations;
using ImLogger.Sinks;
using MimeKit;

namespace ImLogger.Tests.Sinks;

/// <summary>Display names from XEP-0172 user nicknames (issue 19): "Alice Liddell &lt;alice@example.test&gt;" in From, To
/// and Cc, the latest a person gave, theirs only, and never raw in a header.</summary>
public sealed class TranscriptDisplayNameTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@partner.test";
    private const string Room = "room@conference.example.test";

    private static ConversationEvent Chat(int seconds, string sender, string? displayName, string text = "hi") => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = T0.AddSeconds(seconds), Kind = EventKind.Message,
        Direction = sender == Alice ? Direction.Outgoing : Direction.Incoming, ConversationType = ConversationType.OneToOne,
        ConversationKey = $"{Alice} {Bob}", From = sender + "/res", To = (sender == Alice ? Bob : Alice) + "/res",
        SenderBareJid = sender, DisplayName = displayName, Text = text, StanzaType = "chat", LoggedUsers = [Alice], RawXml = "",
    };

    private static Transcript OneToOne(params ConversationEvent[] events) => new()
    {
        Id = "0123456789abcdef0123456789abcdef", ConversationType = ConversationType.OneToOne, ConversationKey = $"{Alice} {Bob}",
        OpenedUtc = T0, ClosedUtc = T0.AddMinutes(30), Events = events,
    };

    private static MimeMessage Build(Transcript t) => new TranscriptMessageBuilder("imlogger@archive.example.test").Build(t);

    [Test]
    public void EachPersonIsNamedByTheLatestNicknameTheyGave()
    {
        var m = Build(OneToOne(Chat(1, Bob, "Bob"), Chat(2, Alice, "Alice"), Chat(3, Bob, null), Chat(4, Alice, "Alice Liddell")));
        Assert.Multiple(() =>
        {
            Assert.That(m.From.Mailboxes.Select(a => (a.Name, a.Address)), Is.EqualTo(new[] { ("Bob", Bob) }), "a later stanza without one keeps the name");
            Assert.That(m.To.Mailboxes.Select(a => (a.Name, a.Address)), Is.EqualTo(new[] { ("Alice Liddell", Alice) }));
        });
    }

    [Test]
    public void WithoutANicknameTheAddressStandsAlone()
    {
        var m = Build(OneToOne(Chat(1, Bob, null), Chat(2, Alice, "  ")));
        Assert.Multiple(() =>
        {
            Assert.That(m.From.Mailboxes.Single().Name, Is.Empty);
            Assert.That(m.To.Mailboxes.Single().Name, Is.Empty, "a blank nickname is none");
        });
    }

    [Test]
    public void AUserNicknameIsPreferredToARoomNickname()
    {
        ConversationEvent RoomSaid(int s, string jid, string nick, string? displayName) => new()
        {
            Id = Guid.NewGuid().ToString("N"), ReceivedUtc = T0.AddSeconds(s), Kind = EventKind.Message, Direction = Direction.Incoming,
            ConversationType = ConversationType.GroupChat, ConversationKey = Room, From = $"{Room}/{nick}", To = Alice + "/l",
            SenderBareJid = jid, Nick = nick, DisplayName = displayName, Text = "x", StanzaType = "groupchat", LoggedUsers = [Alice], RawXml = "",
        };
        var m = Build(new Transcript
        {
            Id = "0123456789abcdef0123456789abcdef", ConversationType = ConversationType.GroupChat, ConversationKey = Room,
            OpenedUtc = T0, ClosedUtc = T0.AddMinutes(30),
            Events = [RoomSaid(1, Bob, "bobby", "Bob Builder"), RoomSaid(2, Alice, "al", null), RoomSaid(3, Bob, "bob_away", null)],
        });
        Assert.Multiple(() =>
        {
            Assert.That(m.From.Mailboxes.Single().Name, Is.EqualTo("Bob Builder"), "what he calls himself, over the handle he last used");
            Assert.That(m.To.Mailboxes.Single().Name, Is.EqualTo("al"), "no user nickname: the room nickname");
        });
    }

    [TestCase("Eve\r\nBcc: victim@example.test")]
    [TestCase("Eve\nTo: victim@example.test")]
    [TestCase("=?utf-8?q?=0D=0ABcc:_victim@example.test?=")]
    [TestCase("=?UTF-8?B?RXZlDQpCY2M6IHZpY3RpbUBleGFtcGxlLnRlc3Q=?=")]
    [TestCase("\"quoted\" <evil@example.test>, other@example.test")]
    [TestCase("Bob \u202Etset.rentrap@bob\u202C")]
    [TestCase("\u2067admin\u2069 \u200F\u061C")]
    [TestCase("tab\there\u0000nul\u0085nel\u2028ls")]
    public void AHostileNicknameIsADisplayNameOnly(string nick)
    {
        foreach (var name in new[] { nick, nick + new string('x', 5000) })
        {
            var m = Build(OneToOne(Chat(1, Bob, name), Chat(2, Alice, null)));
            var headers = RawHeaders(m);
            var reparsed = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(headers + "\r\n\r\nbody")));
            var shown = reparsed.From.Mailboxes.Single().Name ?? "";
            Assert.Multiple(() =>
            {
                Assert.That(headers.Split("\r\n").Where(l => !l.StartsWith(' ') && !l.StartsWith('\t')).Select(l => l[..Math.Max(0, l.IndexOf(':'))]),
                    Does.Not.Contain("Bcc"), "no header smuggled in");
                Assert.That(headers.All(c => c == '\r' || c == '\n' || c == '\t' || (c >= ' ' && c < 0x7f)), Is.True, "headers are 7-bit (RFC 2047 encoded)");
                Assert.That(reparsed.From.Mailboxes.Single().Address, Is.EqualTo(Bob), "one sender, the real one");
                Assert.That(reparsed.To.Mailboxes.Select(a => a.Address), Is.EqualTo(new[] { Alice }));
                Assert.That(reparsed.Bcc, Is.Empty);
                Assert.That(reparsed.Cc, Is.Empty);
                Assert.That(shown.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029'), Is.False, "one line, no controls");
                Assert.That(shown.IndexOfAny(['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C']),
                    Is.EqualTo(-1), "no bidirectional control reorders the name beside the address");
                Assert.That(shown, Does.Not.Contain("=?"), "an encoded-word lookalike is not decoded into a header");
                Assert.That(shown.Length, Is.LessThanOrEqualTo(TranscriptMessageBuilder.MaxDisplayName + 2), "cut short (folding may add a space)");
            });
        }
    }

    private static string RawHeaders(MimeMessage m)
    {
        using var buffer = new MemoryStream();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        m.WriteTo(options, buffer);
        var raw = Encoding.UTF8.GetString(buffer.ToArray());
        return raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
    }
}

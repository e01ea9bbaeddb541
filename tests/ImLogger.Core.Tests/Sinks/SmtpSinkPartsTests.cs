using System.Text;
using System.Text.RegularExpressions;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Sinks;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace ImLogger.Tests.Sinks;

/// <summary>
/// Splitting a transcript into parts that fit an endpoint's message size limit (issue 12): every part fits, every event
/// arrives once and in order, parts say which they are, Message-IDs are stable for the same content and never shared by
/// different content, and a resumed delivery sends exactly the rest. Real sinks and MimeKit; no server (the integration
/// tests send to one).
/// </summary>
public class SmtpSinkPartsTests
{
    private const long Limit = 256 * 1024;

    private static SecureSmtpEndpointConfig Secure(long max = SmtpEndpointConfig.DefaultMaxMessageBytes) => new()
    {
        Name = "mail", Host = "smtp.example.com", Port = 587, Tls = SmtpTlsMode.StartTls, From = "imlogger@corp.example.com",
        To = ["journal@corp.example.com"], MaxMessageBytes = max,
    };

    private static SecureSmtpSink SecureSink(long max = SmtpEndpointConfig.DefaultMaxMessageBytes) => new(Secure(max), NullLogger<SecureSmtpSink>.Instance);

    private static DrcCmSink DrcSink() => new(new DrcCmEndpointConfig
    {
        Name = "drc", Host = "smtp.example.com", Port = 587, Tls = SmtpTlsMode.StartTls, From = "imlogger@corp.example.com", To = ["j@drc.example.com"],
    }, NullLogger<DrcCmSink>.Instance);

    /// <summary>A chat of <paramref name="messages"/> messages of <paramref name="size"/> characters, "message #0007 ..." each.</summary>
    private static Transcript Chat(int messages, int size, Func<int, char>? fill = null) => Events.OneToOne(Enumerable.Range(0, messages)
        .Select(i => Events.Chat(i % 2 == 0 ? "alice@example.test/laptop" : "bob@example.test/phone", i % 2 == 0 ? "bob@example.test" : "alice@example.test",
            $"message #{i:D4} " + new string(fill?.Invoke(i) ?? (char)('a' + i % 26), size), Events.T0.AddSeconds(i)))
        .ToArray()) with { Id = "0123456789abcdef0123456789abcdef" };

    private static long WireSize(MimeMessage message)
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        using var stream = new MemoryStream();
        message.WriteTo(format, stream);
        return stream.Length;
    }

    [Test]
    public void ATranscriptThatFits_IsOneMessageUnderTheTranscriptsOwnMessageId()
    {
        var message = SecureSink().Compose(Chat(10, 100)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(message.MessageId, Is.EqualTo("0123456789abcdef0123456789abcdef@corp.example.com"));
            Assert.That(message.Headers.Contains("X-ImLogger-Part"), Is.False);
            Assert.That(message.Subject, Does.Not.Contain("part"));
            Assert.That(message.TextBody!, Does.Not.Contain("Part 1 of"));
        });
    }

    [Test]
    public void ALargerTranscript_PartsEachFit_EveryMessageOnceInOrder_NumberedInSubjectHeaderAndBody()
    {
        var transcript = Chat(300, 3000);
        var parts = SecureSink(Limit).Compose(transcript);

        Assert.That(parts, Has.Count.GreaterThan(3));
        var n = parts.Count;
        Assert.Multiple(() =>
        {
            Assert.That(parts.Select(WireSize), Has.All.LessThanOrEqualTo(SmtpSink.Budget(Limit)));
            Assert.That(parts.Select(p => p.Headers["X-ImLogger-Part"]), Is.EqualTo(Enumerable.Range(1, n).Select(k => $"{k}/{n}")));
            Assert.That(parts.Select(p => p.Subject), Has.All.Match(@"^XMPP chat: .* \(part \d+ of " + n + @"\)$"));
            Assert.That(parts[1].TextBody!, Does.Contain($"Part 2 of {n} of this transcript: events "));
            Assert.That(parts[1].HtmlBody, Does.Contain($"Part 2 of {n} of this transcript"));
            Assert.That(parts.Select(p => p.MessageId), Is.Unique);
            Assert.That(parts.Select(p => p.InReplyTo), Has.All.EqualTo("0123456789abcdef0123456789abcdef@corp.example.com"));
            Assert.That(parts.Select(p => p.References.Single()), Has.All.EqualTo("0123456789abcdef0123456789abcdef@corp.example.com"));
            Assert.That(parts.Select(p => p.Headers["X-ImLogger-Transcript-Id"]), Has.All.EqualTo(transcript.Id));
            AssertEveryMessageOnceInOrder(parts, 300);
        });
    }

    [Test]
    public void Parts_AreFilled_NotHalvedIntoHalfEmptyOnes()
    {
        var parts = SecureSink(Limit).Compose(Chat(300, 3000));
        // Greedy packing: all but the last part carry more than half the budget (halving could leave them at a quarter).
        Assert.That(parts.SkipLast(1).Select(WireSize), Has.All.GreaterThan(SmtpSink.Budget(Limit) / 2));
    }

    [Test]
    public void TheSameTranscript_SplitsTheSameWay_SameMessageIdsAndBodies()
    {
        var transcript = Chat(200, 3000);
        var first = SecureSink(Limit).Compose(transcript);
        var again = SecureSink(Limit).Compose(transcript);
        Assert.That(again.Select(m => m.MessageId), Is.EqualTo(first.Select(m => m.MessageId)));
        Assert.That(again.Select(m => m.TextBody!), Is.EqualTo(first.Select(m => m.TextBody!)));
    }

    [Test]
    public void Resuming_AfterAcceptedParts_SendsExactlyTheRest_UnderTheSameIds()
    {
        var transcript = Chat(200, 3000);
        var sink = SecureSink(Limit);
        var all = sink.Compose(transcript);
        var firstEventOfPart3 = int.Parse(Regex.Match(all[2].TextBody!, @"events (\d+) to").Groups[1].Value);

        var rest = sink.Compose(transcript, Limit, new DeliveryProgress(2, firstEventOfPart3 - 1));

        Assert.That(rest.Select(m => m.MessageId), Is.EqualTo(all.Skip(2).Select(m => m.MessageId)));
        Assert.That(rest.Select(m => m.TextBody!), Is.EqualTo(all.Skip(2).Select(m => m.TextBody!)));
    }

    [Test]
    public void OtherLimits_NeverGiveOneMessageIdToDifferentContent()
    {
        // A crash between the server's 250 and recording it, then a smaller (or larger) limit on restart: the archive may drop
        // a repeated Message-ID, so a repeated id must mean the same events, or events would be lost.
        var transcript = Chat(200, 3000);
        var sink = SecureSink();
        var bodies = new Dictionary<string, string>();
        foreach (var limit in new long[] { 128 * 1024, 200 * 1024, 256 * 1024, 512 * 1024 })
            foreach (var part in sink.Compose(transcript, limit, DeliveryProgress.None))
            {
                var events = string.Join("\n", Regex.Matches(part.TextBody!, @"message #\d{4}").Select(m => m.Value));
                if (bodies.TryGetValue(part.MessageId!, out var seen)) Assert.That(events, Is.EqualTo(seen), part.MessageId!);
                else bodies[part.MessageId!] = events;
            }
        Assert.That(bodies, Has.Count.GreaterThan(8));
    }

    [TestCase('a')]
    [TestCase('&')] // five bytes in the HTML part for one character
    [TestCase('\u00e9')] // two bytes in UTF-8, quoted-printable or base64
    public void ASingleMessageLargerThanAPart_IsCutIntoPiecesInOrder_NothingLost(char fill)
    {
        var huge = "HEAD " + new string(fill, 700_000) + " TAIL";
        var transcript = Events.OneToOne(
            Events.Chat("alice@example.test/laptop", "bob@example.test", "before", Events.T0),
            Events.Chat("bob@example.test/phone", "alice@example.test", huge, Events.T0.AddSeconds(1)),
            Events.Chat("alice@example.test/laptop", "bob@example.test", "after", Events.T0.AddSeconds(2))) with { Id = "t1" };

        var parts = SecureSink(Limit).Compose(transcript);

        Assert.That(parts.Select(WireSize), Has.All.LessThanOrEqualTo(SmtpSink.Budget(Limit)));
        var pieces = parts.Select(p => Regex.Match(p.TextBody!, @"\[piece (\d+) of (\d+) of one message of [^\]]+\]\n    (.*?)\n(\[|$)", RegexOptions.Singleline))
            .Where(m => m.Success).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(pieces, Has.Count.GreaterThan(2));
            Assert.That(pieces.Select(m => int.Parse(m.Groups[1].Value)), Is.EqualTo(Enumerable.Range(1, pieces.Count)));
            Assert.That(string.Concat(pieces.Select(m => m.Groups[3].Value.Replace("\n    ", "\n"))), Is.EqualTo(huge), "the pieces together are the whole text");
            Assert.That(parts[0].TextBody!, Does.Contain("before"));
            Assert.That(parts[^1].TextBody!, Does.Contain("after"));
            Assert.That(parts.Select(p => p.MessageId), Is.Unique);
            Assert.That(parts.Where(p => p.TextBody!.Contains("[piece")).Select(p => p.MessageId), Has.All.Match(@"\.e2p\d+-e2p\d+@"));
        });
    }

    [Test]
    public void APieceNeverSplitsASurrogatePair()
    {
        var emoji = string.Concat(Enumerable.Repeat("\U0001F600", 200_000));
        var transcript = Events.OneToOne(Events.Chat("alice@example.test/laptop", "bob@example.test", emoji, Events.T0)) with { Id = "t2" };

        var parts = SecureSink(Limit).Compose(transcript);

        Assert.That(parts, Has.Count.GreaterThan(1));
        foreach (var body in parts.Select(p => p.TextBody!))
            Assert.That(body.Where((c, i) => char.IsHighSurrogate(c) && (i + 1 >= body.Length || !char.IsLowSurrogate(body[i + 1]))), Is.Empty);
        Assert.That(parts.Sum(p => Regex.Matches(p.TextBody!, "\U0001F600").Count), Is.EqualTo(200_000));
    }

    [Test]
    public void AFormattedOnlyMessageTooLargeForAPart_KeepsItsTextInThePieces()
    {
        var html = "<body xmlns='http://www.w3.org/1999/xhtml'><p>" + new string('q', 400_000) + "<b>END</b></p></body>";
        var transcript = Events.OneToOne(Events.Chat("alice@example.test/laptop", "bob@example.test", "", Events.T0, html)) with { Id = "t3" };

        var parts = SecureSink(Limit).Compose(transcript);

        Assert.That(parts, Has.Count.GreaterThan(1));
        Assert.That(parts.Sum(p => p.TextBody!.Count(c => c == 'q')), Is.EqualTo(400_000));
        Assert.That(parts[^1].TextBody!, Does.Contain("END"));
    }

    [Test]
    public void AHugeMessageWhoseFormattedVersionSaysSomethingElse_KeepsBothTexts()
    {
        // A client may put one thing in <body> and another in XHTML-IM: both are the record.
        var html = "<body xmlns='http://www.w3.org/1999/xhtml'><p>" + new string('q', 300_000) + " HIDDEN-IN-HTML</p></body>";
        var transcript = Events.OneToOne(Events.Chat("alice@example.test/laptop", "bob@example.test", "PLAIN " + new string('z', 300_000), Events.T0, html)) with { Id = "t4" };

        var parts = SecureSink(Limit).Compose(transcript);

        var all = string.Concat(parts.Select(p => p.TextBody!));
        Assert.That(parts.Select(WireSize), Has.All.LessThanOrEqualTo(SmtpSink.Budget(Limit)));
        Assert.That(all, Does.Contain("PLAIN ").And.Contain("HIDDEN-IN-HTML").And.Contain("formatted (XHTML-IM) version, as text"));
        Assert.That(all.Count(c => c == 'q'), Is.EqualTo(300_000));
        Assert.That(all.Count(c => c == 'z'), Is.EqualTo(300_000));
    }

    [Test]
    public void DrcCm_EachPartCarriesTheConversationXmlOfItsOwnEvents()
    {
        var transcript = Chat(200, 3000);
        var parts = DrcSink().Compose(transcript, Limit, DeliveryProgress.None);

        Assert.That(parts, Has.Count.GreaterThan(2));
        var xmlMessages = parts.Select(p => p.Attachments.OfType<MimePart>().Single()).Select(a =>
        {
            using var stream = new MemoryStream();
            a.Content!.DecodeTo(stream);
            return Regex.Matches(Encoding.UTF8.GetString(stream.ToArray()), @"message #\d{4}").Count;
        }).ToList();
        Assert.That(xmlMessages.Sum(), Is.EqualTo(200), "every message in exactly one part's XML");
        Assert.That(parts.Select(p => p.Attachments.Single().ContentDisposition!.FileName),
            Is.EqualTo(Enumerable.Range(1, parts.Count).Select(k => $"conversation-{transcript.Id}.part{k}.xml")));
    }

    [Test]
    public void ALimitWithNoRoomForAPart_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SecureSink().Compose(Chat(3, 10), 40_000, DeliveryProgress.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => SecureSink().Compose(Chat(3, 10), Limit, new DeliveryProgress(1, 4)));
    }

    private static void AssertEveryMessageOnceInOrder(IReadOnlyList<MimeMessage> parts, int messages)
    {
        var all = string.Join("\n", parts.Select(p => p.TextBody!));
        var at = -1;
        for (var i = 0; i < messages; i++)
        {
            var found = Regex.Matches(all, $"message #{i:D4} ");
            Assert.That(found, Has.Count.EqualTo(1), $"message {i} exactly once");
            if (found.Count != 1) continue;
            Assert.That(found[0].Index, Is.GreaterThan(at), $"message {i} after message {i - 1}");
            at = found[0].Index;
        }
    }
}

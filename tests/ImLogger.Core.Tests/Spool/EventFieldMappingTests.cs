using System.Collections;
using ImLogger.Conversations;
using ImLogger.Domain;
using ImLogger.Spool;

namespace ImLogger.Tests.Spool;

/// <summary>Every property of <see cref="ConversationEvent"/> survives the BSON mapping, including the system-event fields.</summary>
[TestFixture]
public sealed class EventFieldMappingTests
{
    private static ConversationEvent EveryFieldSet() => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        ReceivedUtc = new DateTimeOffset(2026, 11, 25, 9, 30, 1, TimeSpan.Zero).AddTicks(7),
        Kind = EventKind.CallEnded,
        Direction = Direction.Both,
        ConversationType = ConversationType.OneToOne,
        ConversationKey = "alice@example.test bob@example.test",
        From = "alice@example.test/laptop",
        To = "bob@example.test/phone",
        SenderBareJid = "alice@example.test",
        Nick = "alice",
        DisplayName = "Alice Liddell ☃",
        Text = "text",
        Html = "<body xmlns='http://www.w3.org/1999/xhtml'>x</body>",
        StanzaId = "iq-1",
        StanzaType = "set",
        StatusCodes = [110],
        LoggedUsers = ["alice@example.test", "bob@example.test"],
        RawXml = "<iq/>",
        OriginId = "origin-1",
        ServerStanzaId = "archive-1",
        RelatedId = "msg-0",
        Room = "lobby@conference.example.test",
        Inviter = "alice@example.test",
        Invitee = "bob@example.test",
        Reason = "success",
        FileName = "report ☃.pdf",
        FileSize = 5_000_000_000L,
        FileMediaType = "application/pdf",
        Url = "https://upload.example.test/f/report.pdf",
        SessionId = "sid-1",
        CallMedia = CallMedia.DesktopShare,
        Duration = TimeSpan.FromSeconds(724.5),
        EncryptionScheme = "OMEMO",
        Rule = RefusalRule.ServerTimeout,
        HistorySaidUtc = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
    };

    [Test]
    public void EveryPropertyRoundTrips()
    {
        var e = EveryFieldSet();
        var properties = typeof(ConversationEvent).GetProperties();
        foreach (var p in properties)
            Assert.That(p.GetValue(e), Is.Not.Null, $"the sample must set {p.Name}, or this test proves nothing for it");

        var back = SpoolDocuments.ToEvent(SpoolDocuments.ToDocument("t1", 1, e));

        Assert.Multiple(() =>
        {
            foreach (var p in properties)
            {
                var expected = p.GetValue(e);
                var actual = p.GetValue(back);
                if (expected is IEnumerable list and not string)
                    Assert.That(actual, Is.EqualTo(list).AsCollection, p.Name);
                else
                    Assert.That(actual, Is.EqualTo(expected), p.Name);
            }
        });
    }

    [Test]
    public void DocumentsSpooledBeforeTheSystemEventFieldsStillLoad()
    {
        var doc = SpoolDocuments.ToDocument("t1", 1, EveryFieldSet() with { Kind = EventKind.Message });
        foreach (var field in new[] { SpoolDocuments.E_OriginId, SpoolDocuments.E_RelatedId, SpoolDocuments.E_FileSize,
                     SpoolDocuments.E_CallMedia, SpoolDocuments.E_DurationTicks, SpoolDocuments.E_EncryptionScheme, SpoolDocuments.E_Room,
                     SpoolDocuments.E_DisplayName })
            doc.Remove(field);

        var back = SpoolDocuments.ToEvent(doc);

        Assert.Multiple(() =>
        {
            Assert.That(back.Text, Is.EqualTo("text"));
            Assert.That(back.OriginId, Is.Null);
            Assert.That(back.FileSize, Is.Null);
            Assert.That(back.CallMedia, Is.Null);
            Assert.That(back.Duration, Is.Null);
            Assert.That(back.DisplayName, Is.Null, "a spool written before user nicknames were kept");
        });
    }
}

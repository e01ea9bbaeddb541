using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;

namespace ImLogger.Tests.Spool;

/// <summary>Event records leave their empty fields out (fewer bytes per event on the ingest path); records written by
/// earlier versions, with every empty field stored as null, must read exactly as before, and the other way round.</summary>
public class SpoolEventRecordTests
{
    private static readonly string[] OptionalFields =
    [
        "sender", "nick", "text", "html", "stanzaId", "stanzaType", "originId", "serverStanzaId", "relatedId", "room", "inviter",
        "invitee", "reason", "fileName", "fileSize", "fileType", "url", "sessionId", "callMedia", "duration", "encryption", "historySaid",
    ];

    private static string Json(ConversationEvent e) => System.Text.Json.JsonSerializer.Serialize(e);

    [Test]
    public void EmptyFieldsAreLeftOut_AndARecordWithThemAsNull_ReadsTheSame()
    {
        var chat = Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", Events.T0);
        var record = SpoolDocuments.ToDocument("t1", 0, chat);
        Assert.That(record.ContainsKey("nick"), Is.False, "an empty field is not stored");
        Assert.That(record.ContainsKey("text"), Is.True);

        // As versions before this one wrote it: every field, the empty ones as null.
        var earlier = new BsonDocument();
        foreach (var (name, value) in record) earlier[name] = value;
        foreach (var name in OptionalFields) if (!earlier.ContainsKey(name)) earlier[name] = BsonValue.Null;

        Assert.That(Json(SpoolDocuments.ToEvent(record, cipher: null)), Is.EqualTo(Json(chat)));
        Assert.That(Json(SpoolDocuments.ToEvent(earlier, cipher: null)), Is.EqualTo(Json(chat)));
    }

    [Test]
    public void EveryFieldSet_IsStoredAndReadBack()
    {
        var full = Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", Events.T0, html: "<p>hello</p>") with
        {
            Nick = "al", StanzaId = "i", StanzaType = "chat", OriginId = "o", ServerStanzaId = "s", RelatedId = "r", Room = "room@conference.example.test",
            Inviter = "alice@example.test", Invitee = "bob@example.test", Reason = "why", FileName = "f.txt", FileSize = 12, FileMediaType = "text/plain",
            Url = "https://example.test/f.txt", SessionId = "sid", CallMedia = CallMedia.Video, Duration = TimeSpan.FromSeconds(3),
            EncryptionScheme = "omemo", HistorySaidUtc = Events.T0.AddMinutes(-1), StatusCodes = [110, 307],
        };
        var record = SpoolDocuments.ToDocument("t1", 3, full);
        foreach (var name in OptionalFields) Assert.That(record.ContainsKey(name), Is.True, name);
        Assert.That(Json(SpoolDocuments.ToEvent(record, cipher: null)), Is.EqualTo(Json(full)));
    }
}

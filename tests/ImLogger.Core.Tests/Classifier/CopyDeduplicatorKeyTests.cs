using ImLogger.Classifier;
using ImLogger.Conversations;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Classifier;

/// <summary>The deduplicator's keys are digests of an event's fields (DedupKeys): what tells two events apart must still
/// tell them apart, what a second copy of one stanza repeats must still match, and a repeat costs no strings.</summary>
public class CopyDeduplicatorKeyTests
{
    private static ConversationEvent Message(string? id = "m1", string? text = "hi", string? html = null, string from = "alice@example.test/l",
        string key = "alice@example.test bob@example.test", string? origin = null, string? server = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = DateTimeOffset.UnixEpoch,
        Kind = EventKind.Message,
        Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne,
        ConversationKey = key,
        From = from,
        To = "bob@example.test",
        StanzaId = id,
        OriginId = origin,
        ServerStanzaId = server,
        Text = text,
        Html = html,
        LoggedUsers = ["alice@example.test"],
        RawXml = "<message/>",
    };

    private static CopyDeduplicator Fresh() => new(TimeSpan.FromMinutes(10), new FakeTimeProvider());

    [Test]
    public void TextMovedBetweenFields_IsAnotherMessage()
    {
        // With the fields simply joined, "ab" + "" and "a" + "b" could write the same bytes: each field is written with its length.
        var dedup = Fresh();
        Assert.That(dedup.IsRepeat(Message(text: "ab", html: null)), Is.False);
        Assert.That(dedup.IsRepeat(Message(text: "a", html: "b")), Is.False);
        Assert.That(dedup.IsRepeat(Message(text: "a\u0000", html: "b")), Is.False, "a separator character in the text is text");
        Assert.That(dedup.IsRepeat(Message(text: "ab", html: null)), Is.True);
    }

    [Test]
    public void TheSameIdAndText_InAnotherConversationOrFromAnotherSender_IsAnotherMessage()
    {
        var dedup = Fresh();
        Assert.That(dedup.IsRepeat(Message()), Is.False);
        Assert.That(dedup.IsRepeat(Message(key: "alice@example.test carol@example.test")), Is.False, "another conversation");
        Assert.That(dedup.IsRepeat(Message(from: "mallory@example.test/x")), Is.False, "another sender reusing the id");
        Assert.That(dedup.IsRepeat(Message(id: null, origin: "m1")), Is.False, "an origin-id equal to another copy's stanza id is not that id");
        Assert.That(dedup.IsRepeat(Message()), Is.True);
    }

    [Test]
    public void ACopyWithOnlyOneOfTheIds_IsARepeat_AndNoIdAtAllIsMatchedByContent()
    {
        var dedup = Fresh();
        Assert.That(dedup.IsRepeat(Message(id: "i1", origin: "o1", server: "s1")), Is.False);
        Assert.That(dedup.IsRepeat(Message(id: null, origin: null, server: "s1")), Is.True, "the room's reflection with only its stanza-id");
        Assert.That(dedup.IsRepeat(Message(id: "other", origin: "o1")), Is.True, "the origin-id in common");
        Assert.That(dedup.IsRepeat(Message(id: null, text: "no id")), Is.False);
        Assert.That(dedup.IsRepeat(Message(id: null, text: "no id")), Is.True);
        Assert.That(dedup.IsRepeat(Message(id: null, text: "no id", html: "")), Is.True, "an empty field reads as a missing one, as before");
    }

    [Test]
    public void InvitationsAreTheSameWhenRoomInviterInviteeAndReasonAre()
    {
        ConversationEvent Invitation(string? reason, string invitee = "bob@example.test") => Message(id: Guid.NewGuid().ToString()) with
        {
            Kind = EventKind.Invitation, Room = "room@conference.example.test", Inviter = "alice@example.test", Invitee = invitee, Reason = reason,
        };
        var dedup = Fresh();
        Assert.That(dedup.IsRepeat(Invitation("come")), Is.False);
        Assert.That(dedup.IsRepeat(Invitation("come")), Is.True, "the room's copy, with other ids");
        Assert.That(dedup.IsRepeat(Invitation("come", invitee: "carol@example.test")), Is.False);
        Assert.That(dedup.IsRepeat(Invitation(null)), Is.False);
    }

    [Test]
    public void ARepeatBuildsNoStrings()
    {
        // Load-independent: bytes this thread allocated. The keys of the earlier version (text of every field, a SHA-256 in
        // hex, one string per id) cost about 1 KB per call.
        var dedup = Fresh();
        var copy = Message(id: "i1", origin: "o1", server: "s1", text: new string('x', 500));
        dedup.IsRepeat(copy);
        dedup.IsRepeat(copy);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var repeats = 0;
        for (var i = 0; i < 1000; i++) if (dedup.IsRepeat(copy)) repeats++;
        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000.0;
        Assert.That(repeats, Is.EqualTo(1000));
        Assert.That(perCall, Is.LessThan(64), "bytes allocated per repeated copy");
    }
}

using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Pipeline;
using ImLogger.Tests.Ingest;
using Microsoft.Extensions.Logging;

namespace ImLogger.Tests.GroupChat;

/// <summary>The operator is told, once per room, that a room's occupants can be archived by nickname only, and what to do
/// about it. Real classifier events from the presence and messages a logged participant of a semi-anonymous room gets.</summary>
public class NicknameOnlyRoomsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    private static string Join(string room, string nick, string? occupantJidAttr = null) =>
        $"<presence xmlns='jabber:client' from='{room}/{nick}' to='alice@example.test/pc'><x xmlns='http://jabber.org/protocol/muc#user'>"
        + $"<item affiliation='none' role='participant'{occupantJidAttr}/></x></presence>";

    private static string Said(string room, string nick) =>
        $"<message xmlns='jabber:client' type='groupchat' from='{room}/{nick}' to='alice@example.test/pc'><body>hi</body></message>";

    private static IReadOnlyList<ConversationEvent> Classify(StanzaClassifier c, string xml, string? occupantJid = null) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0) { OccupantJid = occupantJid }).Events;

    [Test]
    public void ARoomWhoseOccupantsHaveNoRealJidIsNamedOnceWithWhatToDo()
    {
        var log = new LinesLogger<StanzaPipeline>();
        var rooms = new NicknameOnlyRooms(log);
        var c = new StanzaClassifier("alice@example.test".Equals);
        const string Team = "team@conference.example.test", Board = "board@rooms.example.test";
        rooms.Observe(Classify(c, Join(Team, "bob")));
        rooms.Observe(Classify(c, Join(Team, "carol")));
        rooms.Observe(Classify(c, Said(Team, "bob")));
        rooms.Observe(Classify(c, Join(Board, "dave", " jid='dave@example.test/x'")));      // the room discloses dave: nothing to say
        rooms.Observe(Classify(c, Join(Board, "erin"), occupantJid: "erin@example.test"));  // the MUC module named erin: nothing either
        var warnings = log.Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Text).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(warnings, Has.Count.EqualTo(1), string.Join("\n", warnings));
            Assert.That(warnings[0], Does.Contain(Team).And.Contain("\"bob\"").And.Contain("nickname only"));
            Assert.That(warnings[0], Does.Contain("group-chat-hosts=\"conference.example.test\"").And.Contain("server-config"), "says what to do, with the host");
        });
    }

    [Test]
    public void AnOccupantAModeratorsCopyNamesInTheSameBatchIsNoWarning()
    {
        var log = new LinesLogger<StanzaPipeline>();
        var rooms = new NicknameOnlyRooms(log);
        var c = new StanzaClassifier(j => j is "alice@example.test" or "erin@example.test");
        const string Team = "team@conference.example.test";
        var erinsCopy = Join(Team, "bob").Replace("alice@example.test/pc", "erin@example.test/pc", StringComparison.Ordinal);
        rooms.Observe([.. Classify(c, erinsCopy), .. Classify(c, Join(Team, "bob", " jid='bob@example.test/x'"))]);
        Assert.That(log.Lines.Where(l => l.Level == LogLevel.Warning), Is.Empty);
    }

    [Test]
    public void AFloodOfRoomsStopsBeingNamedAndSaysSo()
    {
        var log = new LinesLogger<StanzaPipeline>();
        var rooms = new NicknameOnlyRooms(log);
        var c = new StanzaClassifier("alice@example.test".Equals);
        for (var i = 0; i < NicknameOnlyRooms.MaxRooms + 50; i++) rooms.Observe(Classify(c, Join($"r{i}@conference.example.test", "bob")));
        var warnings = log.Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Text).ToList();
        Assert.That(warnings, Has.Count.EqualTo(NicknameOnlyRooms.MaxRooms));
        Assert.That(warnings[^1], Does.Contain("no more rooms will be named"));
    }
}

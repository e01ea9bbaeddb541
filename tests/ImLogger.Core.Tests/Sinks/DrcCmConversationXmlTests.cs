using System.Xml.Linq;
using ImLogger.Sinks;
using ImLogger.Tests.DeliveryTestSupport;

namespace ImLogger.Tests.Sinks;

/// <summary>The DRC-CM attachment: user text can neither break nor extend the XML, and the same transcript renders the same bytes.</summary>
public class DrcCmConversationXmlTests
{
    [Test]
    public void MarkupAndForbiddenCharactersInUserText_StayText()
    {
        var hostile = "</Content></Message><ParticipantLeft><LoginName>ceo@example.test</LoginName></ParticipantLeft>\u0001\u0000end";
        var transcript = Events.OneToOne(Events.Chat("alice@example.test/laptop", "bob@example.test", hostile, Events.T0));

        var root = XDocument.Parse(System.Text.Encoding.UTF8.GetString(DrcCmConversationXml.Render(transcript))).Root!;
        var conversation = root.Element("Conversation")!;

        Assert.That(conversation.Elements("Message").Single().Element("Content")!.Value,
            Is.EqualTo("</Content></Message><ParticipantLeft><LoginName>ceo@example.test</LoginName></ParticipantLeft>\uFFFD\uFFFDend"));
        Assert.That(conversation.Elements("ParticipantLeft").Select(e => e.Element("LoginName")!.Value),
            Is.EquivalentTo(new[] { "alice@example.test", "bob@example.test" }), "only the real leaves, at the end");
    }

    [Test]
    public void SameTranscript_SameBytes()
    {
        var transcript = Events.OneToOne(
            Events.Chat("alice@example.test/laptop", "bob@example.test", "one", Events.T0),
            Events.Chat("bob@example.test/phone", "alice@example.test", "two", Events.T0.AddSeconds(5)));
        var first = DrcCmConversationXml.Render(transcript);
        var again = DrcCmConversationXml.Render(transcript);
        Assert.That(again, Is.EqualTo(first));
    }

    [Test]
    public void GlobalRelaySubject_CountsUsersMessagesAndRoundsMinutesUp()
    {
        var transcript = Events.OneToOne(
            Events.Chat("alice@example.test/laptop", "bob@example.test", "one", Events.T0),
            Events.Chat("bob@example.test/phone", "alice@example.test", "two", Events.T0.AddSeconds(61)));
        Assert.That(GlobalRelaySink.Subject(transcript), Is.EqualTo("Chat, 2 Users, 2 Messages, 2 Minutes"));
    }
}

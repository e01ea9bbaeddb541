using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

/// <summary>An HTTP-upload share (XEP-0363 then an XEP-0066 link, what most clients send) is archived with the size the
/// logged user's slot request announced. Stanzas in the shape Conversations and Gajim send them.</summary>
public class HttpUploadSizeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private const string Get = "https://upload.example.test/file_share/7d1f0c/holiday%20photo.jpg";

    private static IReadOnlyList<ConversationEvent> Classify(StanzaClassifier c, string xml) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0)).Events;

    private static string Request(string from, string id) =>
        $"<iq xmlns='jabber:client' type='get' id='{id}' from='{from}' to='upload.example.test'><request xmlns='urn:xmpp:http:upload:0' filename='holiday photo.jpg' size='2345678' content-type='image/jpeg'/></iq>";

    private static string Slot(string to, string id) =>
        $"<iq xmlns='jabber:client' type='result' id='{id}' from='upload.example.test' to='{to}'><slot xmlns='urn:xmpp:http:upload:0'>"
        + $"<put url='https://upload.example.test/file_share/7d1f0c/holiday%20photo.jpg'><header name='Authorization'>Bearer x</header></put><get url='{Get}'/></slot></iq>";

    private static string Share(string from) =>
        $"<message xmlns='jabber:client' type='chat' id='s1' from='{from}' to='bob@example.test'><body>{Get}</body><x xmlns='jabber:x:oob'><url>{Get}</url></x></message>";

    [Test]
    public void TheSharedLinkCarriesTheSizeOfTheSlotRequest()
    {
        var c = new StanzaClassifier("alice@example.test".Equals);
        Classify(c, Request("alice@example.test/phone", "u1"));
        Classify(c, Slot("alice@example.test/phone", "u1"));
        var shared = Classify(c, Share("alice@example.test/phone")).Single(e => e.Kind == EventKind.FileShared);
        Assert.That((shared.FileName, shared.FileSize), Is.EqualTo(("holiday photo.jpg", 2345678L)));
    }

    [Test]
    public void WithoutTheSlotExchangeTheSizeStaysUnknown()
    {
        var c = new StanzaClassifier("alice@example.test".Equals);
        Assert.That(Classify(c, Share("alice@example.test/phone")).Single(e => e.Kind == EventKind.FileShared).FileSize, Is.Null);
    }

    [Test]
    public void AnAnswerToSomeoneElseOrAnotherIdTeachesNothing()
    {
        var c = new StanzaClassifier("alice@example.test".Equals);
        Classify(c, Request("alice@example.test/phone", "u1"));
        Classify(c, Slot("alice@example.test/laptop", "u1")); // another session of hers: not the requester
        Classify(c, Slot("alice@example.test/phone", "u2"));  // another id
        Assert.That(Classify(c, Share("alice@example.test/phone")).Single(e => e.Kind == EventKind.FileShared).FileSize, Is.Null);
    }

    [Test]
    public void XepZeroFourFourSixMetadataWinsOverTheSlotRequest()
    {
        var c = new StanzaClassifier("alice@example.test".Equals);
        Classify(c, Request("alice@example.test/phone", "u1"));
        Classify(c, Slot("alice@example.test/phone", "u1"));
        var withMetadata = $"<message xmlns='jabber:client' type='chat' id='s2' from='alice@example.test/phone' to='bob@example.test'><body>{Get}</body>"
            + $"<x xmlns='jabber:x:oob'><url>{Get}</url></x><file xmlns='urn:xmpp:file:metadata:0'><name>holiday photo.jpg</name><size>2345679</size></file></message>";
        Assert.That(Classify(c, withMetadata).Single(e => e.Kind == EventKind.FileShared).FileSize, Is.EqualTo(2345679L));
    }
}

using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

/// <summary>A message without a body is housekeeping (a chat state, a receipt) only while it is content-free by the
/// same rule the inline adapter passes unheld (docs/inline-protocol.md): words smuggled into a housekeeping shape,
/// which inline fail-closed holds, are archived with the raw XML instead of delivered unrecorded.</summary>
public class StanzaClassifierHousekeepingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 23, 0, 0, TimeSpan.Zero);

    private static Classification Classify(string xml) =>
        new StanzaClassifier("alice@example.test".Equals).Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0));

    private const string Head = "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='chat'";

    [TestCase(Head + "><composing xmlns='http://jabber.org/protocol/chatstates'>meet at the warehouse at five</composing></message>", "warehouse")]
    [TestCase(Head + "><thread>sell every share before the announcement on friday</thread></message>", "announcement")]
    [TestCase(Head + "><thread>" + "sell-every-share-before-the-announcement-on-friday-" + "sell-every-share-before-the-announcement-on-friday-" + "and-tell-nobody-at-all-not-even-the-board</thread></message>", "announcement")]
    [TestCase(Head + "><received xmlns='urn:xmpp:receipts' id='x'>transfer the money</received></message>", "transfer")]
    [TestCase(Head + "><addresses xmlns='http://jabber.org/protocol/address'><address type='to' jid='carol@example.test' desc='wire it tonight'/></addresses></message>", "wire it")]
    [TestCase(Head + " xml:lang='the-plan-is-to-leave-on-monday-with-the-client-list-and-the-source-code-of-the-trading-engine-and-nobody-must-know-about-it-at-all'>"
              + "<active xmlns='http://jabber.org/protocol/chatstates'/></message>", "client-list")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='buy-at-noon'><active xmlns='http://jabber.org/protocol/chatstates'/></message>", "buy-at-noon")]
    [TestCase(Head + "><delay xmlns='urn:xmpp:delay' stamp='2026-11-29T23:00:00Z'>the merger closes on monday, tell nobody, and delete this message after reading it please, thanks a lot friend</delay></message>", "merger")]
    // A carbon copy or an archive result is the server's copy to the user's own devices; from another user it is a forged wrapper around words.
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
              + "<message xmlns='jabber:client' from='alice@example.test/l' to='carol@example.test'><body>the password is hunter2</body></message></forwarded></sent></message>", "hunter2")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p'><result xmlns='urn:xmpp:mam:2' id='1'><forwarded xmlns='urn:xmpp:forward:0'>"
              + "<message xmlns='jabber:client' from='alice@example.test/l' to='carol@example.test'><body>dump the stock</body></message></forwarded></result></message>", "dump the stock")]
    public void WordsInAHousekeepingShapeAreArchived(string xml, string word)
    {
        var result = Classify(xml);
        Assert.That(result.Events, Has.Count.EqualTo(1), result.Reason);
        Assert.That(result.Events[0].RawXml, Does.Contain(word));
    }

    [Test]
    public void AReceiptRepeatedIsAListOfChosenIdsAndArchived()
    {
        var repeated = string.Concat(Enumerable.Range(0, 40).Select(i => $"<received xmlns='urn:xmpp:receipts' id='word-{i}'/>"));
        var result = Classify(Head + ">" + repeated + "</message>");
        Assert.That(result.Events, Has.Count.EqualTo(1), result.Reason);
    }

    [Test]
    public void ElementNamesInAHousekeepingNamespaceAreNotAChannel()
    {
        var names = string.Concat(Enumerable.Range(0, 60).Select(i => $"<meet-at-five-{i} xmlns='http://jabber.org/protocol/chatstates'/>"));
        Assert.That(Classify(Head + ">" + names + "</message>").Events, Has.Count.EqualTo(1));
    }

    [Test]
    public void ALastActivityAnswerCarriesTheStatusTextAndIsArchived()
    {
        // The server answers it itself on bob's behalf with the status of his last sign-out: his words, to alice.
        var result = Classify("<iq xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='result' id='l1'>"
                              + "<query xmlns='jabber:iq:last' seconds='903'>gone to sell the shares</query></iq>");
        Assert.That(result.Events, Has.Count.EqualTo(1), result.Reason);
        Assert.That(result.Events[0].Text, Does.Contain("gone to sell the shares"));
        Assert.That(Classify("<iq xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='result' id='l2'><query xmlns='jabber:iq:last' seconds='903'/></iq>").Events,
            Is.Empty, "without a status it is a number");
    }

    // What clients really send stays ignored: no noise in transcripts.
    [TestCase(Head + " id='a1' xml:lang='en'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")]
    [TestCase(Head + " id='a2'><received xmlns='urn:xmpp:receipts' id='0a1b2c3d-4e5f-6789-abcd-ef0123456789'/><store xmlns='urn:xmpp:hints'/></message>")]
    [TestCase(Head + " id='a3'><displayed xmlns='urn:xmpp:chat-markers:0' id='m1'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/><thread>7f3c9a</thread></message>")]
    [TestCase("<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/>"
              + "<delay xmlns='urn:xmpp:delay' from='example.test' stamp='2026-11-29T23:00:00Z'/><stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.test' id='s1'/></message>")]
    // The server's carbon copy of alice's message, to her other device: archived from the original.
    [TestCase("<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/m'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
              + "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><body>hello</body></message></forwarded></sent></message>")]
    public void ContentFreeHousekeepingStaysIgnored(string xml)
    {
        var result = Classify(xml);
        Assert.That(result.Events, Is.Empty, result.Reason);
    }
}

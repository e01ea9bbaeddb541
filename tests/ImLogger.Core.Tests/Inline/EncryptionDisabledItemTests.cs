using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Inline;
using ImLogger.Policy;

namespace ImLogger.Tests.Inline;

/// <summary>An item the server adapter already refused (encryption disabled for logged users) is archived as refused,
/// even when nothing in it looks encrypted (an owner delete of a key node, a variant node name).</summary>
public class EncryptionDisabledItemTests
{
    private const string Request = """
        <iq xmlns='jabber:component:accept' type='set' id='imlogger-7' from='example.test' to='archive.example.test'>
          <batch xmlns='urn:imlogger:inline:0'>
            <item id='1' direction='out' user='alice@example.test' to-local='true' restricted='encryption-disabled'>
              <iq xmlns='jabber:client' type='set' id='d1' from='alice@example.test/laptop'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>
                <delete node='eu.siacs.conversations.axolotl.devicelist'/></pubsub></iq>
            </item>
            <item id='2' direction='out' user='alice@example.test' to-local='true'>
              <iq xmlns='jabber:client' type='set' id='d2' from='alice@example.test/laptop'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>
                <delete node='eu.siacs.conversations.axolotl.devicelist'/></pubsub></iq>
            </item>
          </batch>
        </iq>
        """;

    [Test]
    public void RestrictedItemIsRefusedWithItsRuleAndAnUnmarkedOneIsDecidedAsUsual()
    {
        var request = InlineRequest.TryParse(XElement.Parse(Request), out _)!;
        var policy = new CompliancePolicy(new RestrictionSettings());
        var restricted = policy.Decide(request.Items[0], []);
        var plain = policy.Decide(request.Items[1], []);
        Assert.Multiple(() =>
        {
            Assert.That(request.Items[0].Restricted, Is.EqualTo(CompliancePolicy.EncryptionDisabled));
            Assert.That(restricted.Allowed, Is.False);
            Assert.That(restricted.Rule?.Name(), Is.EqualTo(CompliancePolicy.EncryptionDisabled));
            Assert.That(restricted.Condition, Is.EqualTo("not-allowed"));
            Assert.That(restricted.NoticeToLoggedUser, Is.Null, "clients retry keys at every sign-in: no notice each time");
            Assert.That(request.Items[1].Restricted, Is.Null);
            Assert.That(plain.Allowed, Is.True, "without the mark the component decides by content alone");
        });
    }
}

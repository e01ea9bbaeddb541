using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using System.Xml.Linq;

namespace ImLogger.Tests.Config;

/// <summary>&lt;services&gt;: the site's telephony gateways and meeting services, as the classifier uses them.</summary>
public class ServicesConfigTests : TempDirFixture
{
    private ImLoggerConfig Load(string services)
    {
        var path = Path.Combine(Dir, $"{Guid.NewGuid():N}.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="local" seats="5"><user jid="alice@example.test" /></organization>
              <endpoints><directory name="local" path="archive" /></endpoints>
            {services}
            </imlogger>
            """);
        return ConfigLoader.Load(path, _ => "s3cret");
    }

    [Test]
    public void WithoutServicesTheDefaultRulesApply()
    {
        var config = Load("");
        Assert.That(config.Services.TelephonyGateways, Is.Null);
        Assert.That(config.Services.IsTelephony("+15551234567@sip.example.test"), Is.True);
    }

    [Test]
    public void ListedGatewaysAndMeetingServicesReplaceTheDefaultRules()
    {
        var config = Load("""
              <services>
                <telephony-gateway domain="Cheogram.com" />
                <meeting-service domain="rooms.video.example.test" />
              </services>
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Services.IsTelephony("someone@cheogram.com"), Is.True);
            Assert.That(config.Services.IsTelephony("someone@sip.example.test"), Is.False, "a list replaces the default rule");
            Assert.That(config.Services.IsMeetingService("standup@rooms.video.example.test"), Is.True);
            Assert.That(config.Services.IsMeetingService("standup@meet.example.test"), Is.False);
        });

        // The classifier the component builds from it names a call with the gateway a phone call, and no other.
        var classifier = new StanzaClassifier(j => j == "alice@example.test", config.Services);
        CallMedia? MediaOfCallTo(string to, string id) => classifier.Classify(new TapEnvelope(XElement.Parse($"""
            <message xmlns="jabber:client" from="alice@example.test/phone" to="{to}" type="chat" id="{id}">
              <propose xmlns="urn:xmpp:jingle-message:0" id="{id}"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/></propose>
            </message>
            """), "example.test", DateTimeOffset.UtcNow)).Events.Single().CallMedia;
        Assert.That(MediaOfCallTo("desk@cheogram.com", "c1"), Is.EqualTo(CallMedia.Phone));
        Assert.That(MediaOfCallTo("desk@sip.example.test", "c2"), Is.Not.EqualTo(CallMedia.Phone));
    }

    [TestCase("<services><telephony-gateway domain=\"x@sip.example.test\" /></services>", "must be a domain such as")]
    [TestCase("<services><telephony-gateway domain=\"a.test\" /><telephony-gateway domain=\"A.test\" /></services>", "is listed twice")]
    [TestCase("<services><gateway domain=\"a.test\" /></services>", "gateway")]
    public void MistakesAreNamed(string services, string problem)
    {
        var e = Assert.Throws<ConfigException>(() => Load(services))!;
        Assert.That(e.Message, Does.Contain(problem));
    }

    [Test]
    public void ChangingServicesNeedsARestart()
    {
        var running = Load("");
        Assert.That(ConfigHolder.NeedsRestart(running, Load("<services><meeting-service domain=\"meet.example.test\" /></services>")), Does.StartWith("<services> changed"));
        Assert.That(ConfigHolder.NeedsRestart(running, Load("")), Is.Null);
    }
}

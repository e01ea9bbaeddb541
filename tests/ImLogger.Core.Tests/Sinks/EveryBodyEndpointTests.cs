using System.Text;
using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Sinks;

/// <summary>Every body and every XHTML body, each with its language, in every endpoint format, after a restart of a
/// sealed (AES-GCM) spool: the text and HTML parts of the mail (directory, SMTP, Global Relay) and DRC-CM XML.</summary>
public sealed class EveryBodyEndpointTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 11, 0, 0, TimeSpan.Zero);

    private const string Stanza =
        "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat' id='m1'>"
        + "<body>innocent</body><body xml:lang='de'>kauf die Aktien vor Freitag</body>"
        + "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>innocent</p></body>"
        + "<body xmlns='http://www.w3.org/1999/xhtml' xml:lang='fr'><p>vends <b>tout</b></p></body></html></message>";

    [Test]
    public void BothLanguagesSurviveASealedSpoolRestartAndReachEveryFormat()
    {
        using var dir = new TempDir();
        var classifier = new StanzaClassifier("alice@example.test".Equals);
        var env = new TapEnvelope(XElement.Parse(Stanza), "example.test", T0);
        var events = CoverageCheck.Complete(classifier, env, classifier.Classify(env), TranscriptMessageBuilder.RenderLine).Events;

        string id;
        using (var spool = new LiteDbSpool(dir.File("spool.db"), NullLogger<LiteDbSpool>.Instance, "key-from-file-0123456789"))
        {
            var header = spool.OpenTranscript(ConversationType.OneToOne, events[0].ConversationKey, T0, ["dir"]);
            spool.Append(events.Select(e => new SpoolAppend(header.Id, e)).ToList());
            spool.Close(header.Id, T0.AddMinutes(5));
            id = header.Id;
        }
        var onDisk = Directory.GetFiles(dir.Path).SelectMany(File.ReadAllBytes).ToArray();
        Assert.That(onDisk.AsSpan().IndexOf(Encoding.UTF8.GetBytes("kauf die Aktien")), Is.EqualTo(-1), "sealed at rest");

        using var reopened = new LiteDbSpool(dir.File("spool.db"), NullLogger<LiteDbSpool>.Instance, "key-from-file-0123456789");
        var transcript = reopened.Load(id)!;
        var mail = new TranscriptMessageBuilder("archive@example.test").Build(transcript);
        var drc = Encoding.UTF8.GetString(DrcCmConversationXml.Render(transcript));
        Assert.Multiple(() =>
        {
            foreach (var (format, text) in new[] { ("text part", mail.TextBody ?? ""), ("HTML part", mail.HtmlBody ?? ""), ("DRC-CM", drc) })
            {
                Assert.That(text, Does.Contain("innocent"), format);
                Assert.That(text, Does.Contain("body [de]: kauf die Aktien vor Freitag"), format);
                Assert.That(text, Does.Contain("XHTML body [fr]: vends tout"), format);
            }
        });
    }
}

using System.Text;
using System.Xml.Linq;
using CsCheck;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Policy;
using ImLogger.Sinks;
using ImLogger.Tests.Classifier;

namespace ImLogger.Tests.Hostile;

/// <summary>
/// Captured or refused, by property: random stanzas of a logged user built from real namespaces and the recorded client
/// XML (Resources/events), with a unique marker planted in one random text node or free-text attribute, go through the
/// real classifier, coverage pass, policy and transcript builder; the marker is in the transcript's text part, or the
/// policy refused the stanza. The same generator with an encryption planted anywhere (any depth, inside wrappers) checks
/// that inline mode refuses it as end-to-end encryption. The suite runs a fixed seed and a small budget; set IMLOGGER_PROPERTY_ITER (e.g. 200000)
/// for a longer run with fresh seeds (the benchmark command does).
/// </summary>
public class CoveragePropertyTests
{
    private const string Alice = "alice@example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
    private const char Slot = '§';

    /// <summary>Children a message can carry, with § where words go (text or a free-text attribute). Real namespaces.</summary>
    private static readonly string[] MessageChildren =
    [
        "<body>§</body>", "<body xml:lang='de'>§</body>", "<body xml:lang='fr'>§</body>", "<subject>§</subject>", "<thread>§</thread>",
        "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>§ <b>§</b></p></body></html>",
        "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>§</p></body><body xmlns='http://www.w3.org/1999/xhtml' xml:lang='de'><p>§<img alt='§' src='cid:x'/></p></body></html>",
        "<composing xmlns='http://jabber.org/protocol/chatstates'/>", "<paused xmlns='http://jabber.org/protocol/chatstates'>§</paused>",
        "<request xmlns='urn:xmpp:receipts'/>", "<markable xmlns='urn:xmpp:chat-markers:0'/>", "<store xmlns='urn:xmpp:hints'/>",
        "<origin-id xmlns='urn:xmpp:sid:0' id='o-1'/>",
        "<ringing xmlns='urn:xmpp:jingle-message:0' id='c-1'/>",
        "<propose xmlns='urn:xmpp:jingle-message:0' id='c-2'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose>",
        "<propose xmlns='urn:xmpp:jingle-message:0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>",
        "<retract xmlns='urn:xmpp:jingle-message:0' id='c-1'><reason xmlns='urn:xmpp:jingle:1'><text>§</text></reason></retract>",
        "<invite xmlns='urn:xmpp:call-invites:0'><jingle sid='s-1'/></invite>", "<whatever xmlns='urn:xmpp:call-invites:0'>§</whatever>",
        "<retract xmlns='urn:xmpp:message-retract:1' id='old-1'/>", "<replace xmlns='urn:xmpp:message-correct:0' id='old-1'/>",
        "<reactions xmlns='urn:xmpp:reactions:0' id='old-1'><reaction>§</reaction></reactions>",
        "<x xmlns='jabber:x:conference' jid='room@conference.example.test' reason='§'/>",
        "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@example.test'><reason>§</reason></invite></x>",
        "<x xmlns='jabber:x:oob'><url>https://upload.example.test/a/f.pdf</url><desc>§</desc></x>",
        "<addresses xmlns='http://jabber.org/protocol/address'><address type='cc' jid='carol@example.test' desc='§'/></addresses>",
        "<delay xmlns='urn:xmpp:delay' stamp='2026-11-29T09:00:00Z'>§</delay>", "<nick xmlns='http://jabber.org/protocol/nick'>§</nick>",
        "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='carol@example.test/x' to='bob@example.test'><body>§</body></message></forwarded>",
        "<event xmlns='http://jabber.org/protocol/pubsub#event'><items node='http://jabber.org/protocol/mood'><item id='i'><mood xmlns='http://jabber.org/protocol/mood'><happy/><text>§</text></mood></item></items></event>",
        "<data xmlns='http://jabber.org/protocol/ibb' sid='ib-1' seq='0'>§</data>",
        "<geoloc xmlns='http://jabber.org/protocol/geoloc'><text>§</text><locality>§</locality></geoloc>",
        "<note xmlns='urn:example:unknown' title='§'>§</note>",
    ];

    private static readonly string[] PresenceChildren =
    [
        "<status>§</status>", "<status xml:lang='de'>§</status>", "<show>away</show>", "<priority>5</priority>",
        "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://gajim.org' ver='abc='/>", "<nick xmlns='http://jabber.org/protocol/nick'>§</nick>",
        "<x xmlns='vcard-temp:x:update'><photo>0123abcd</photo></x>", "<idle xmlns='urn:xmpp:idle:1' since='2026-11-29T09:00:00Z'/>",
    ];

    private static readonly string[] IqPayloads =
    [
        "<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s-1'><ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'>§</ringing></jingle>",
        "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s-1'><reason><success/><text>§</text></reason></jingle>",
        "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s-9' initiator='alice@example.test/l'><content creator='initiator' name='f'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>§</name><desc>§</desc><size>12</size></file></description></content></jingle>",
        "<vCard xmlns='vcard-temp'><FN>§</FN><DESC>§</DESC></vCard>",
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item><entry xmlns='http://www.w3.org/2005/Atom'><title>§</title></entry></item></publish></pubsub>",
        "<query xmlns='jabber:iq:private'><notes xmlns='urn:example:notes'><note>§</note></notes></query>",
        "<query xmlns='jabber:iq:version'><name>§</name><version>1</version></query>",
        "<data xmlns='http://jabber.org/protocol/ibb' sid='ib-1' seq='3'>§</data>",
        "<si xmlns='http://jabber.org/protocol/si' id='si-1' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='§' size='10'><desc>§</desc></file></si>",
    ];

    private static readonly string[] Fixtures =
    [
        "jmi-propose", "jmi-proceed", "jmi-retract", "reaction", "retraction", "correction", "invitation-direct", "invitation-mediated", "file-link",
        "subject", "housekeeping", "jingle-audio-call", "file-si-offer", "meeting-invite",
    ];

    private static readonly Lazy<XElement[]> FixtureStanzas = new(() => Fixtures.SelectMany(f => Recordings.Stanzas($"events.{f}.xml")).ToArray());

    /// <summary>One case: a stanza with slots, which slot gets the marker, and the filler words.</summary>
    private sealed record Case(XElement Stanza, int MarkerSlot, string Marker)
    {
        public override string ToString() => $"marker {Marker} in slot {MarkerSlot} of {Stanza}";
    }

    private static readonly Gen<string> Word = Gen.Char['a', 'z'].Array[3, 8].Select(c => new string(c));

    private static readonly Gen<Case> Cases =
        from kind in Gen.Int[0, 9]
        from incoming in Gen.Bool
        from fixture in Gen.Int[0, 1000]
        from children in Gen.Int[0, 1000].Array[1, 4]
        from wrapped in Gen.Int[0, 5]
        from slot in Gen.Int[0, 1000]
        from marker in Word
        select Build(kind, incoming, fixture, children, wrapped, slot, "zq" + marker + "mk");

    private static Case Build(int kind, bool incoming, int fixture, int[] children, int wrapped, int slot, string marker)
    {
        var (me, other) = ("alice@example.test/l", "bob@example.test/p");
        var (from, to) = incoming ? (other, me) : (me, other);
        XElement stanza;
        string[] pool;
        if (kind <= 1)
        {
            // A recorded stanza with generated children beside it.
            stanza = new XElement(FixtureStanzas.Value[fixture % FixtureStanzas.Value.Length]);
            pool = stanza.Name.LocalName == "iq" ? IqPayloads : MessageChildren;
        }
        else if (kind <= 6)
        {
            var type = new[] { "chat", "normal", "headline", "groupchat", "error" }[kind - 2];
            if (type == "groupchat") (from, to) = incoming ? ("room@conference.example.test/bob", me) : (me, "room@conference.example.test");
            stanza = new XElement(Ns.Client + "message", new XAttribute("from", from), new XAttribute("to", to), new XAttribute("type", type), new XAttribute("id", "m-1"));
            if (type == "error")
                stanza.Add(Parse("<error type='cancel'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>§</text></error>"));
            pool = MessageChildren;
        }
        else if (kind == 7)
        {
            stanza = new XElement(Ns.Client + "presence", new XAttribute("from", from), new XAttribute("to", to));
            pool = PresenceChildren;
        }
        else
        {
            stanza = new XElement(Ns.Client + "iq", new XAttribute("from", from), new XAttribute("to", to), new XAttribute("type", kind == 8 ? "set" : "result"), new XAttribute("id", "q-1"));
            pool = IqPayloads;
        }
        foreach (var c in children)
        {
            var child = Parse(pool[c % pool.Length]);
            // One wrapper deeper: an unknown extension around a known one.
            if (wrapped == 0) child = new XElement(XNamespace.Get("urn:example:wrap") + "wrap", child);
            stanza.Add(child);
        }
        return new Case(stanza, slot, marker);
    }

    /// <summary>A child in the stanza's namespace unless it names its own, as on the wire.</summary>
    private static XElement Parse(string xml) => new(XElement.Parse($"<r xmlns='jabber:client'>{xml}</r>").Elements().First());

    /// <summary>Fills the slots: the marker in one, short words in the others; in-band data is then base64, as on the wire.
    /// Null when the stanza has no slot.</summary>
    private static XElement? Planted(Case c)
    {
        var stanza = new XElement(c.Stanza);
        var slots = new List<Action<string>>();
        foreach (var e in stanza.DescendantsAndSelf())
        {
            foreach (var a in e.Attributes().Where(a => a.Value == Slot.ToString()))
                slots.Add(v => a.Value = v);
            foreach (var t in e.Nodes().OfType<XText>().Where(t => t.Value.Contains(Slot)))
                slots.Add(v => t.Value = t.Value.Replace(Slot.ToString(), v, StringComparison.Ordinal));
        }
        if (slots.Count == 0) return null;
        var chosen = c.MarkerSlot % slots.Count;
        for (var i = 0; i < slots.Count; i++) slots[i](i == chosen ? c.Marker : "w" + i);
        foreach (var data in stanza.Descendants(XNamespace.Get("http://jabber.org/protocol/ibb") + "data"))
            data.Value = Convert.ToBase64String(Encoding.UTF8.GetBytes(data.Value));
        return stanza;
    }

    /// <summary>Classifier, coverage pass, policy and transcript: true when the stanza was refused or the marker is in the
    /// transcript's text part; throws with what happened otherwise.</summary>
    private static void CapturedOrRefused(Case c)
    {
        if (Planted(c) is not { } stanza) return;
        var classifier = new StanzaClassifier(Alice.Equals);
        var env = new TapEnvelope(stanza, "example.test", T0);
        var classified = CoverageCheck.Complete(classifier, env, classifier.Classify(env), TranscriptMessageBuilder.RenderLine);
        var outgoing = JidText.Bare((string?)stanza.Attribute("from") ?? "") == Alice;
        var verdict = new CompliancePolicy(new RestrictionSettings())
            .Decide(new InlineItem("1", outgoing ? InlineDirection.Out : InlineDirection.In, Alice, true, stanza), classified.Events);
        if (!verdict.Allowed) return;
        if (classified.Events.Count == 0)
            throw new AssertionException($"delivered and nothing archived ({classified.Reason}): {stanza}");
        var transcript = new Transcript
        {
            Id = "t-1", ConversationType = classified.Events[0].ConversationType, ConversationKey = classified.Events[0].ConversationKey,
            OpenedUtc = T0, ClosedUtc = T0.AddMinutes(1), Events = classified.Events,
        };
        var text = new TranscriptMessageBuilder("archive@example.test").Build(transcript).TextBody ?? "";
        if (!text.Contains(c.Marker, StringComparison.Ordinal))
            throw new AssertionException($"delivered and the marker {c.Marker} is not in the transcript ({classified.Reason}):\n{stanza}\n---\n{text}");
    }

    [Test]
    public void EveryPlantedWordIsArchivedOrTheStanzaRefused() => Check(Cases, CapturedOrRefused, stream: 7);

    /// <summary>In the suite, 1,500 cases from a fixed seed (a second or two, the same cases every run); with
    /// IMLOGGER_PROPERTY_ITER (./bench.sh --only property), that many cases from fresh seeds.</summary>
    private static void Check<T>(Gen<T> cases, Action<T> check, uint stream)
    {
        if (Environment.GetEnvironmentVariable("IMLOGGER_PROPERTY_ITER") is { } iter && long.TryParse(iter, out var n) && n > 0)
        {
            cases.Sample(check, iter: n, threads: 1);
            return;
        }
        var pcg = new PCG(stream, 20261129);
        for (var i = 0; i < 1500; i++)
            check(cases.Generate(pcg, null, out _));
    }

    /// <summary>Encryption the generator plants, with the scheme the refusal must name; OTR is text, not an element.</summary>
    private static readonly (string Xml, string Scheme)[] Encryptions =
    [
        ("<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>a2V5</key><iv>aXY=</iv></header><payload>Y2lwaGVy</payload></encrypted>", "OMEMO"),
        ("<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><keys jid='bob@example.test'><key rid='2'>a2V5</key></keys></header><payload>Y2lwaGVy</payload></encrypted>", "OMEMO 2"),
        ("<x xmlns='jabber:x:encrypted'>aGk=</x>", "OpenPGP (XEP-0027)"),
        ("<openpgp xmlns='urn:xmpp:openpgp:0'>LS0tLS1CRUdJTg==</openpgp>", "OpenPGP (XEP-0373)"),
        ("?OTR:AAMDJ+MVmSfjFZcAAAAAAQ.", EncryptionScan.Otr),
    ];

    /// <summary>Wrappers put around the planted encryption, one or two deeper than the stanza's own.</summary>
    private static readonly string[] EncryptionWrappers =
    [
        "§", "<wrap xmlns='urn:example:wrap'>§</wrap>",
        "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='carol@example.test/x' to='bob@example.test'>§</message></forwarded>",
        "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/m'>§</message></forwarded></received>",
    ];

    /// <summary>A generated stanza with one encryption planted at a random place: which encryption, which wrapper, which
    /// element of the stanza (any depth) and where among its children.</summary>
    private sealed record EncryptedCase(Case Base, int Encryption, int Wrapper, int Host, int Position)
    {
        public override string ToString() => $"{Encryptions[Encryption].Scheme} in element {Host} of {Base}";
    }

    private static readonly Gen<EncryptedCase> EncryptedCases =
        from c in Cases
        from encryption in Gen.Int[0, Encryptions.Length - 1]
        from wrapper in Gen.Int[0, EncryptionWrappers.Length - 1]
        from host in Gen.Int[0, 1000]
        from position in Gen.Int[0, 1000]
        select new EncryptedCase(c, encryption, wrapper, host, position);

    /// <summary>The stanza with its words filled in and the encryption planted.</summary>
    private static XElement PlantedEncryption(EncryptedCase c)
    {
        var stanza = Planted(c.Base) ?? new XElement(c.Base.Stanza);
        var (xml, _) = Encryptions[c.Encryption];
        var hosts = stanza.DescendantsAndSelf().ToList();
        var host = hosts[c.Host % hosts.Count];
        var wrapper = EncryptionWrappers[c.Wrapper];
        XNode planted = xml.StartsWith('<')
            ? Parse(wrapper.Replace(Slot.ToString(), xml, StringComparison.Ordinal))
            : wrapper == "§" ? new XText(xml) : Parse(wrapper.Replace(Slot.ToString(), $"<body>{xml}</body>", StringComparison.Ordinal));
        var children = host.Nodes().ToList();
        var at = c.Position % (children.Count + 1);
        if (at == children.Count) host.Add(planted);
        else children[at].AddBeforeSelf(planted);
        return stanza;
    }

    /// <summary>Classifier, coverage pass and the real policy in inline mode: the stanza is refused as end-to-end
    /// encryption naming the planted scheme; throws with the stanza otherwise.</summary>
    private static void RefusedInline(EncryptedCase c)
    {
        var stanza = PlantedEncryption(c);
        var scheme = Encryptions[c.Encryption].Scheme;
        var classifier = new StanzaClassifier(Alice.Equals);
        var env = new TapEnvelope(stanza, "example.test", T0);
        var classified = CoverageCheck.Complete(classifier, env, classifier.Classify(env), TranscriptMessageBuilder.RenderLine);
        var outgoing = JidText.Bare((string?)stanza.Attribute("from") ?? "") == Alice;
        var verdict = new CompliancePolicy(new RestrictionSettings())
            .Decide(new InlineItem("1", outgoing ? InlineDirection.Out : InlineDirection.In, Alice, true, stanza), classified.Events);
        if (verdict.Allowed || verdict.Rule != ImLogger.Domain.RefusalRule.EndToEndEncryption || verdict.Text?.Contains(scheme, StringComparison.Ordinal) != true)
            throw new AssertionException($"{scheme} planted and the verdict is {(verdict.Allowed ? "allowed" : verdict.Rule)} ({verdict.Text}):\n{stanza}");
    }

    [Test]
    public void EveryPlantedEncryptionIsRefusedInline() => Check(EncryptedCases, RefusedInline, stream: 11);
}

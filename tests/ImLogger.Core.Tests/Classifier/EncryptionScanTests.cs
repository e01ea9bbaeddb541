using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Policy;

namespace ImLogger.Tests.Classifier;

/// <summary>Refuse by default: the encryption pass finds end-to-end encryption anywhere in any stanza (issue 13's list and
/// more), the classifier archives it as an encrypted attempt with its scheme, and the policy refuses it whatever the
/// classifier made of the stanza.</summary>
public class EncryptionScanTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);

    private const string Omemo2 = "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><keys jid='bob@example.test'><key rid='2'>a2V5</key></keys></header><payload>Y2lwaGVy</payload></encrypted>";
    private const string Omemo1 = "<encrypted xmlns='urn:xmpp:omemo:1'><header sid='1'><key rid='2'>a2V5</key></header><payload>Y2lwaGVy</payload></encrypted>";
    private const string Legacy = "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>a2V5</key><iv>aXY=</iv></header><payload>Y2lwaGVy</payload></encrypted>";
    private const string Ox = "<openpgp xmlns='urn:xmpp:openpgp:0'>LS0tLS1CRUdJTg==</openpgp>";

    /// <summary>Stanzas that carry encryption, with the scheme the scan must name.</summary>
    public static IEnumerable<TestCaseData> Encrypted()
    {
        TestCaseData Case(string name, string scheme, string xml) => new TestCaseData(xml, scheme).SetName("Finds_" + name);
        yield return Case("Omemo1WithFallbackBody", "OMEMO 1",
            $"<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'>{Omemo1}<body>I sent you an OMEMO encrypted message but your client doesn't seem to support that.</body></message>");
        yield return Case("OmemoBesideMediatedInvite", "OMEMO",
            $"<message xmlns='jabber:client' from='alice@example.test/l' to='room@conference.example.test'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='bob@example.test'/></x>{Legacy}</message>");
        yield return Case("OmemoInsideCarbonReceived", "OMEMO 2",
            $"<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/l'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/m' type='chat'>{Omemo2}</message></forwarded></received></message>");
        yield return Case("OmemoInsideCarbonSent", "OMEMO",
            $"<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/l'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='alice@example.test/m' to='bob@example.test' type='chat'>{Legacy}</message></forwarded></sent></message>");
        yield return Case("OmemoInsideBareForwarded", "OMEMO 2",
            $"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test'><body>fwd</body><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'>{Omemo2}</message></forwarded></message>");
        yield return Case("OmemoInDirectedPresence", "OMEMO 2",
            $"<presence xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'>{Omemo2}</presence>");
        yield return Case("OmemoInIqSet", "OMEMO",
            $"<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='set' id='s1'><query xmlns='urn:example:anything'>{Legacy}</query></iq>");
        yield return Case("OmemoInIqResult", "OMEMO 2",
            $"<iq xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='result' id='r1'>{Omemo2}</iq>");
        yield return Case("OmemoInIqError", "OMEMO 2",
            $"<iq xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='error' id='e1'>{Omemo2}<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
        yield return Case("OtrInLanguageBody", "OTR",
            "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>hello</body><body xml:lang='de'>?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgCyn9hb.</body></message>");
        yield return Case("OtrAfterLeadingSpace", "OTR",
            "<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='chat'><body>  ?OTR:AAMDJ+MVmSfjFZcAAAAAAQ.</body></message>");
        yield return Case("OtrOnlyInXhtml", "OTR",
            "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>?OTR:AAMDJ+MVmSfjFZcAAAAAAQ.</p></body></html></message>");
        yield return Case("OtrWhitespaceTaggedOffer", "OTR",
            "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>hi \t  \t\t\t\t \t \t \t    \t\t  \t </body></message>");
        yield return Case("OtrSplitByCdataAndComment", "OTR",
            "<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='chat'><body>?O<!-- x --><![CDATA[TR]]>:AAMD.</body></message>");
        yield return Case("OtrInAThreadElement", "OTR",
            "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>hi</body><thread>?OTR:AAMD.</thread></message>");
        yield return Case("OmemoUnderAPrefix", "OMEMO 2",
            "<message xmlns='jabber:client' xmlns:o='urn:xmpp:omemo:2' from='alice@example.test/l' to='bob@example.test' type='chat'><o:encrypted><o:payload>eA==</o:payload></o:encrypted></message>");
        yield return Case("OmemoInAJingleSessionInfo", "OMEMO 2",
            $"<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='set' id='j1'><jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'>{Omemo2}</jingle></iq>");
        yield return Case("OxInsidePubsubEventItem", "OpenPGP (XEP-0373)",
            $"<message xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:example:notes'><item id='1'>{Ox}</item></items></event></message>");
        yield return Case("Pgp27InsideGroupChatError", "OpenPGP (XEP-0027)",
            "<message xmlns='jabber:client' from='room@conference.example.test' to='alice@example.test/l' type='error'><x xmlns='jabber:x:encrypted'>aGk=</x><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        yield return Case("LaterOmemoVersion", EncryptionScan.OtherOmemo,
            "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><encrypted xmlns='urn:xmpp:omemo:3'><payload>eA==</payload></encrypted></message>");
        yield return Case("OmemoTwoWrappersDeep", "OMEMO 2",
            $"<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/l'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'>{Omemo2}</message></forwarded></message></forwarded></received></message>");
    }

    [TestCaseSource(nameof(Encrypted))]
    public void TheScanFindsTheSchemeAnywhere(string xml, string scheme)
    {
        var found = EncryptionScan.Find(XElement.Parse(xml));
        Assert.That(found?.Scheme, Is.EqualTo(scheme));
        Assert.That(found!.OnlyInArchiveResult, Is.False);
    }

    [TestCaseSource(nameof(Encrypted))]
    public void InlineRefusesItWhateverTheClassifierMadeOfIt(string xml, string scheme)
    {
        // Both directions: the item is held for alice whichever way it goes; the classifier's events are not given.
        foreach (var direction in new[] { InlineDirection.Out, InlineDirection.In })
        {
            var v = new CompliancePolicy(new RestrictionSettings()).Decide(new InlineItem("1", direction, "alice@example.test", true, XElement.Parse(xml)), []);
            Assert.That(v.Rule?.Name(), Is.EqualTo("end-to-end-encryption"), direction.ToString());
            Assert.That(v.Text, Does.Contain(scheme));
        }
    }

    [TestCaseSource(nameof(Encrypted))]
    public void TapArchivesAnEncryptedAttemptWithItsScheme(string xml, string scheme)
    {
        var result = Classify(xml);
        var encrypted = result.Events.Where(e => e.Kind == EventKind.Encrypted).ToList();
        Assert.That(encrypted, Has.Count.EqualTo(1), result.Reason);
        Assert.That(encrypted[0].EncryptionScheme, Is.EqualTo(scheme));
        Assert.That(encrypted[0].LoggedUsers, Does.Contain("alice@example.test"));
    }

    /// <summary>XML namespaces are compared exactly: none of these is a namespace any client decrypts.</summary>
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><encrypted xmlns='urn:xmpp:OMEMO:2'><payload>eA==</payload></encrypted></message>")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><encrypted xmlns='EU.SIACS.conversations.axolotl'><payload>eA==</payload></encrypted></message>")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><x xmlns='jabber:X:encrypted'>aGk=</x></message>")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><openpgp xmlns='urn:xmpp:openpgp:0 '>aGk=</openpgp></message>")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><body>?otr is what libotr ignores, lower case</body></message>")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><body>we use OMEMO and eu.siacs.conversations.axolotl at home</body></message>")]
    // A namespace named in an attribute is not an element of it: a device list fetch is a question, its answer is keys.
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='get' id='g'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='eu.siacs.conversations.axolotl.devicelist'/></pubsub></iq>")]
    // A XEP-0380 marker beside plain text hides nothing.
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>plain words</body><encryption xmlns='urn:xmpp:eme:0' namespace='urn:xmpp:omemo:2'/></message>")]
    public void LookalikesAreNotEncryption(string xml) => Assert.That(EncryptionScan.Find(XElement.Parse(xml)), Is.Null);

    [Test]
    public void KeyMaterialIsEncryptionWithoutCiphertextAndIsRefusedWithoutANoticePerUpdate()
    {
        const string devices = "<message xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'>"
                               + "<items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='1'/></list></item></items></event></message>";
        var found = EncryptionScan.Find(XElement.Parse(devices));
        Assert.That(found, Is.EqualTo(new EncryptionFinding("OMEMO", false, false)));
        var v = new CompliancePolicy(new RestrictionSettings()).Decide(new InlineItem("1", InlineDirection.In, "alice@example.test", true, XElement.Parse(devices)), []);
        Assert.That(v.Rule?.Name(), Is.EqualTo("end-to-end-encryption"));
        Assert.That(v.NoticeToLoggedUser, Is.Null);
        Assert.That(Classify(devices).Events, Is.Empty, "a contact's device list, sent at each sign-in, is not an attempt to archive");
    }

    [Test]
    public void CiphertextOutranksKeysWhereverEachSits()
    {
        var xml = $"<message xmlns='jabber:client' from='a@example.test/l' to='b@example.test'><list xmlns='urn:xmpp:omemo:2'/><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'>{Ox}</message></forwarded></message>";
        Assert.That(EncryptionScan.Find(XElement.Parse(xml)), Is.EqualTo(new EncryptionFinding("OpenPGP (XEP-0373)", true, false)));
    }

    private const string MamResult = "<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/l'><result xmlns='urn:xmpp:mam:2' queryid='q' id='28482'>"
                                     + "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-11-28T10:00:00Z'/><message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='chat'>"
                                     + Omemo2 + "</message></forwarded></result></message>";

    [Test]
    public void AnArchiveResultIsTheUsersPastNotArchivedAsNewButRefusedInline()
    {
        Assert.That(EncryptionScan.Find(XElement.Parse(MamResult)), Is.EqualTo(new EncryptionFinding("OMEMO 2", true, true)));
        Assert.That(Classify(MamResult).Events, Is.Empty);
        var v = new CompliancePolicy(new RestrictionSettings()).Decide(new InlineItem("1", InlineDirection.In, "alice@example.test", true, XElement.Parse(MamResult)), []);
        Assert.That(v.Rule?.Name(), Is.EqualTo("end-to-end-encryption"));
        Assert.That(v.NoticeToLoggedUser, Is.Null, "paging through one's own archive sends no notice per result");
    }

    [Test]
    public void EncryptionOutsideAnArchiveResultInTheSameStanzaIsArchived()
    {
        var xml = MamResult.Replace("</result>", "</result>" + Legacy, StringComparison.Ordinal);
        Assert.That(EncryptionScan.Find(XElement.Parse(xml))!.OnlyInArchiveResult, Is.False);
        Assert.That(Classify(xml).Events.Single(e => e.Kind == EventKind.Encrypted).EncryptionScheme, Is.EqualTo("OMEMO 2"));
    }

    [Test]
    public void AMarkerBesidePlainTextIsArchivedAsTheText()
    {
        var result = Classify("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat' id='m'><body>quarterly numbers attached</body>"
                              + "<encryption xmlns='urn:xmpp:eme:0' namespace='urn:xmpp:omemo:2' name='OMEMO'/></message>");
        Assert.That(result.Events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Message }), result.Reason);
        Assert.That(result.Events[0].Text, Is.EqualTo("quarterly numbers attached"));
    }

    [Test]
    public void AnInvitationBesideOmemoKeepsTheInvitationAndAddsTheEncryptedAttempt()
    {
        var result = Classify($"<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><x xmlns='jabber:x:conference' jid='room@conference.example.test'/>{Legacy}</message>");
        Assert.That(result.Events.Select(e => e.Kind), Is.EquivalentTo(new[] { EventKind.Invitation, EventKind.Encrypted }), result.Reason);
        var invitation = result.Events.Single(e => e.Kind == EventKind.Invitation);
        Assert.That((invitation.Room, invitation.Inviter, invitation.Invitee), Is.EqualTo(("room@conference.example.test", "alice@example.test", "bob@example.test")));
        Assert.That(result.Events.Select(e => e.ConversationKey).Distinct().Count(), Is.EqualTo(1), "both belong to the alice-bob conversation");
    }

    /// <summary>The same as a mediated invite: a XEP-0249 invite (with its reason) and OMEMO 2 beside it, incoming, each
    /// leave their event.</summary>
    [Test]
    public void AnIncomingDirectInvitationWithAReasonBesideOmemo2KeepsBoth()
    {
        var result = Classify($"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' id='inv1'>{Omemo2}"
                              + "<x xmlns='jabber:x:conference' jid='secret@conference.example.test' reason='come in'/></message>");
        Assert.That(result.Events.Select(e => e.Kind), Is.EquivalentTo(new[] { EventKind.Invitation, EventKind.Encrypted }), result.Reason);
        Assert.That(result.Events.Single(e => e.Kind == EventKind.Invitation).Reason, Is.EqualTo("come in"));
        Assert.That(result.Events.Single(e => e.Kind == EventKind.Encrypted).EncryptionScheme, Is.EqualTo("OMEMO 2"));
    }

    private static string Carbon(string direction, string inner) =>
        $"<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/m'><{direction} xmlns='urn:xmpp:carbons:2'>"
        + $"<forwarded xmlns='urn:xmpp:forward:0'>{inner}</forwarded></{direction}></message>";

    /// <summary>XEP-0280: a carbon is the server's copy of a message to the user's other sessions; tap copies the message
    /// itself too. The carbon's attempt is the inner message's (its ids, parties, conversation), so the deduplicator folds
    /// the two copies into one archived attempt, whichever arrives first.</summary>
    [TestCase("sent", "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat' id='e1'>" + Omemo2 + "</message>", true)]
    [TestCase("received", "<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat' id='e2'><origin-id xmlns='urn:xmpp:sid:0' id='o2'/>" + Legacy + "</message>", true)]
    [TestCase("received", "<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='chat' id='e3'>" + Omemo1 + "<body>fallback</body></message>", false)]
    public void AnEncryptedCarbonAndItsDirectCopyAreOneArchivedAttempt(string direction, string inner, bool directFirst)
    {
        var classifier = new StanzaClassifier("alice@example.test".Equals);
        var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(1), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0));
        var copies = new[] { inner, Carbon(direction, inner) };
        if (!directFirst) Array.Reverse(copies);
        var archived = copies.SelectMany(xml => classifier.Classify(Envelope(xml)).Events).Where(e => !dedup.IsRepeat(e)).ToList();
        Assert.That(archived.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Encrypted }));
        var innerMessage = XElement.Parse(inner);
        Assert.That(archived[0].ConversationKey, Is.EqualTo(JidText.PairKey("alice@example.test", "bob@example.test")));
        Assert.That(archived[0].StanzaId, Is.EqualTo((string?)innerMessage.Attribute("id")));
    }

    /// <summary>A carbon alone (its direct copy missed) is still archived, in the conversation of the message it copies,
    /// not the user's own; the raw XML kept is the carbon as it arrived.</summary>
    [Test]
    public void AnEncryptedCarbonAloneLandsInTheInnerConversation()
    {
        var xml = Carbon("sent", "<message xmlns='jabber:client' from='alice@example.test/l' to='carol@elsewhere.test' type='chat' id='c1'>" + Ox + "</message>");
        var e = Classify(xml).Events.Single();
        Assert.That((e.Kind, e.From, e.To, e.StanzaId, e.Direction), Is.EqualTo((EventKind.Encrypted, "alice@example.test/l", "carol@elsewhere.test", "c1", Direction.Outgoing)));
        Assert.That(e.ConversationKey, Does.Contain("carol@elsewhere.test"));
        Assert.That(e.RawXml, Does.Contain("urn:xmpp:carbons:2"));
    }

    /// <summary>Words of the stanza's own beside an own-account carbon wrapper are not the copied message's: the stanza stays
    /// the wrapper's, and its body is archived with the attempt.</summary>
    [Test]
    public void ABodyBesideAnOwnCarbonStaysWithTheWrapper()
    {
        var xml = "<message xmlns='jabber:client' from='alice@example.test/l' to='alice@example.test'><body>note to self</body><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
                  + $"<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat' id='n1'>{Omemo2}</message></forwarded></sent></message>";
        var result = Classify(xml);
        Assert.That(result.Events.Any(e => e.Text == "note to self"), Is.True, result.Reason);
    }

    /// <summary>A carbons wrapper from anyone but the user's own account is a forgery: not re-scoped, still archived.</summary>
    [Test]
    public void AForgedCarbonFromAContactIsNotTakenForTheInnerMessage()
    {
        var xml = $"<message xmlns='jabber:client' from='mallory@example.test/x' to='alice@example.test/l'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
                  + $"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='chat' id='f1'>{Omemo2}</message></forwarded></received></message>";
        var e = Classify(xml).Events.Single(x => x.Kind == EventKind.Encrypted);
        Assert.That(e.From, Is.EqualTo("mallory@example.test/x"));
    }

    /// <summary>Trust: only ciphertext the room reflected at the top level teaches that a room is encrypted; a carbon or a
    /// forward inside a group chat message, or OTR-looking text, does not close the room to logged users.</summary>
    [TestCase("<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'>" + Omemo2 + "</message></forwarded>", false)]
    [TestCase("<body>?OTR:AAMD.</body>", false)]
    [TestCase(Omemo2, true)]
    public void OnlyTopLevelReflectedCiphertextTeachesAnEncryptedRoom(string payload, bool learned)
    {
        var classifier = new StanzaClassifier("alice@example.test".Equals);
        classifier.Classify(Envelope("<presence xmlns='jabber:client' from='room@conference.example.test/alice' to='alice@example.test/l'>"
                                     + "<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>"));
        var result = classifier.Classify(Envelope($"<message xmlns='jabber:client' from='room@conference.example.test/bob' to='alice@example.test/l' type='groupchat' id='g1'>{payload}</message>"));
        Assert.That(result.Events.Any(e => e.Kind == EventKind.Encrypted), Is.True, result.Reason);
        Assert.That(result.EncryptedRoom, learned ? Is.EqualTo("room@conference.example.test") : Is.Null);
    }

    private static TapEnvelope Envelope(string xml) => new(XElement.Parse(xml), "example.test", T0);

    private static Classification Classify(string xml) => new StanzaClassifier("alice@example.test".Equals).Classify(Envelope(xml));
}

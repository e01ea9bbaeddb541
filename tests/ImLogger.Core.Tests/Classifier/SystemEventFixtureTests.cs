using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

/// <summary>
/// One fixture per event kind (Resources/events/*.xml, real client XML: each file says where it came from),
/// classified the way the pipeline does: one stanza after another, a second apart.
/// </summary>
public class SystemEventFixtureTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);

    private sealed record Step(XElement Stanza, Classification Result);

    /// <summary>Classifies every stanza of a fixture, the n-th at T0 + n × <paramref name="gap"/>.</summary>
    private static List<Step> Play(string fixture, string[] logged, TimeSpan? gap = null, StanzaClassifier? classifier = null)
    {
        classifier ??= new StanzaClassifier(logged.Contains);
        var step = gap ?? TimeSpan.FromSeconds(1);
        return Recordings.Stanzas($"events.{fixture}.xml")
            .Select((s, i) => new Step(s, classifier.Classify(new TapEnvelope(s, "example.test", T0 + i * step))))
            .ToList();
    }

    private static ConversationEvent Only(Step step) => step.Result.Events.Single();

    private static readonly string[] Alice = ["alice@example.test"];
    private static readonly string[] AliceAndBob = ["alice@example.test", "bob@example.test"];

    [Test]
    public void DirectInvitationNamesRoomInviterInviteeAndReason()
    {
        var e = Only(Play("invitation-direct", Alice)[0]);
        Assert.Multiple(() =>
        {
            Assert.That(e.Kind, Is.EqualTo(EventKind.Invitation));
            Assert.That(e.ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
            Assert.That((e.Room, e.Inviter, e.Invitee, e.Reason), Is.EqualTo(("lobby@conference.example.test", "alice@example.test", "bob@example.test", "standup in 5")));
            Assert.That(e.Direction, Is.EqualTo(Direction.Outgoing));
        });
    }

    [Test]
    public void MediatedInvitationAndDeclineBelongToTheRoom()
    {
        var invite = Only(Play("invitation-mediated", Alice)[0]);
        var decline = Only(Play("invitation-declined", ["bob@example.test"])[0]);
        Assert.Multiple(() =>
        {
            Assert.That((invite.Kind, invite.ConversationType, invite.ConversationKey), Is.EqualTo((EventKind.Invitation, ConversationType.GroupChat, "lobby@conference.example.test")));
            Assert.That((invite.Inviter, invite.Invitee, invite.Reason), Is.EqualTo(("alice@example.test", "bob@example.test", "join us")));
            Assert.That((decline.Kind, decline.ConversationKey), Is.EqualTo((EventKind.InvitationDeclined, "lobby@conference.example.test")));
            Assert.That((decline.Inviter, decline.Invitee, decline.Reason), Is.EqualTo(("alice@example.test", "bob@example.test", "busy")));
        });
    }

    [Test]
    public void RoomLegOfAMediatedInvitationReadsTheSame()
    {
        var c = new StanzaClassifier(AliceAndBob.Contains);
        var fromRoom = Only(Play("invitation-mediated-room-leg", AliceAndBob, classifier: c)[0]);
        var fromAlice = Only(Play("invitation-mediated", AliceAndBob, classifier: c)[0]);
        Assert.Multiple(() =>
        {
            Assert.That((fromRoom.Kind, fromRoom.ConversationKey, fromRoom.Inviter, fromRoom.Invitee), Is.EqualTo((EventKind.Invitation, "lobby@conference.example.test", "alice@example.test", "bob@example.test")));
            var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(1), TimeProvider.System);
            Assert.That(dedup.IsRepeat(fromAlice), Is.False);
            Assert.That(dedup.IsRepeat(fromRoom), Is.True, "the two legs of one invitation are archived once");
        });
    }

    [Test]
    public void SubjectChangeIsRecordedOnceAndTheJoinAnnouncementIsNot()
    {
        var c = new StanzaClassifier(Alice.Contains);
        const string room = "lobby@conference.example.test";
        c.Classify(new TapEnvelope(XElement.Parse($"<presence xmlns='jabber:client' from='{room}/alice' to='alice@example.test/laptop'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator' affiliation='owner'/><status code='110'/></x></presence>"), "example.test", T0));
        var announced = c.Classify(new TapEnvelope(XElement.Parse($"<message xmlns='jabber:client' from='{room}' to='alice@example.test/laptop' type='groupchat'><subject/></message>"), "example.test", T0));
        var change = Only(Play("subject", Alice, classifier: c)[0]);
        var reflection = c.Classify(new TapEnvelope(XElement.Parse($"<message xmlns='jabber:client' from='{room}/alice' to='alice@example.test/laptop' type='groupchat'><subject>Q4 planning</subject></message>"), "example.test", T0));
        Assert.Multiple(() =>
        {
            Assert.That(announced.Events, Is.Empty, announced.Reason);
            Assert.That((change.Kind, change.ConversationKey, change.Text), Is.EqualTo((EventKind.SubjectChanged, room, "Q4 planning")));
            Assert.That(reflection.Events, Is.Empty, "the room's reflection of the same change");
        });
    }

    [Test]
    public void CorrectionAndRetractionAreLinkedToTheOriginalWhichStays()
    {
        var correction = Play("correction", Alice);
        var retraction = Only(Play("retraction", Alice)[0]);
        var original = Only(correction[0]);
        var corrected = Only(correction[1]);
        Assert.Multiple(() =>
        {
            Assert.That((original.Kind, original.Text, original.OriginId), Is.EqualTo((EventKind.Message, "see you at 10", "msg-1")));
            Assert.That((corrected.Kind, corrected.Text, corrected.RelatedId, corrected.OriginId), Is.EqualTo((EventKind.Correction, "see you at 11", "msg-1", "msg-2")));
            Assert.That((retraction.Kind, retraction.RelatedId, retraction.Text), Is.EqualTo((EventKind.Retraction, "msg-1", (string?)null)));
        });
    }

    [Test]
    public void ReactionsNameTheMessageTheyReactTo()
    {
        var steps = Play("reaction", Alice);
        Assert.Multiple(() =>
        {
            Assert.That((Only(steps[0]).Kind, Only(steps[0]).RelatedId, Only(steps[0]).Text), Is.EqualTo((EventKind.Reaction, "msg-1", "\U0001F44D")));
            Assert.That((Only(steps[1]).Kind, Only(steps[1]).Text), Is.EqualTo((EventKind.Reaction, "")), "all reactions withdrawn");
        });
    }

    [Test]
    public void ModeratedRetractionInARoomSaysWhoModerated()
    {
        // XEP-0425 v0.3 form (message-retract:1 with moderated) as the room sends it to occupants.
        var e = new StanzaClassifier(Alice.Contains).Classify(new TapEnvelope(XElement.Parse("""
            <message xmlns='jabber:client' type='groupchat' from='lobby@conference.example.test' to='alice@example.test/laptop' id='retraction-id-1'><retract id='stanza-id-1' xmlns='urn:xmpp:message-retract:1'><moderated by='lobby@conference.example.test/mod' xmlns='urn:xmpp:message-moderate:1'><occupant-id xmlns='urn:xmpp:occupant-id:0' id='dd72603deec90a38ba552f7c68cbcc61bca202cd'/></moderated><reason>spam</reason></retract></message>
            """), "example.test", T0)).Events.Single();
        Assert.That((e.Kind, e.RelatedId, e.Reason), Is.EqualTo((EventKind.Retraction, "stanza-id-1", "moderated by lobby@conference.example.test/mod: spam")));
    }

    [Test]
    public void UploadedFileLinksAreSharedFilesWithNameSizeAndType()
    {
        var oob = Only(Play("file-link", Alice)[0]);
        var sfs = Only(Play("file-metadata", Alice)[0]);
        Assert.Multiple(() =>
        {
            Assert.That((oob.Kind, oob.Url, oob.FileName, oob.Text), Is.EqualTo((EventKind.FileShared, "https://upload.example.test/f/abc/report.pdf", "report.pdf", (string?)null)));
            Assert.That((sfs.Kind, sfs.FileName, sfs.FileSize, sfs.FileMediaType), Is.EqualTo((EventKind.FileShared, "summit.jpg", 3032449L, "image/jpeg")));
            Assert.That(sfs.Url, Is.EqualTo("https://upload.example.test/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/summit.jpg"));
        });
    }

    [Test]
    public void SiFileTransferOfferAcceptAndCompletionWithDuration()
    {
        var c = new StanzaClassifier(Alice.Contains);
        var offer = Only(Play("file-si-offer", Alice, classifier: c)[0]);
        var steps = Play("file-si-accept-and-close", Alice, TimeSpan.FromSeconds(40), c);
        var accepted = Only(steps[0]);
        var ended = Only(steps[1]);
        Assert.Multiple(() =>
        {
            Assert.That((offer.Kind, offer.FileName, offer.FileSize, offer.FileMediaType, offer.SessionId), Is.EqualTo((EventKind.FileOffered, "report.pdf", 48213L, "application/pdf", "si-1")));
            Assert.That((accepted.Kind, accepted.FileName, accepted.SessionId), Is.EqualTo((EventKind.FileTransferAccepted, "report.pdf", "si-1")));
            Assert.That((ended.Kind, ended.Reason, ended.FileName), Is.EqualTo((EventKind.FileTransferEnded, "completed", "report.pdf")));
            Assert.That(ended.Duration, Is.EqualTo(TimeSpan.FromSeconds(40)));
        });
    }

    [Test]
    public void RejectedSiOfferEndsTheTransferWithoutDuration()
    {
        var c = new StanzaClassifier(Alice.Contains);
        Play("file-si-offer", Alice, classifier: c);
        var ended = Only(Play("file-si-reject", Alice, classifier: c)[0]);
        Assert.That((ended.Kind, ended.Reason, ended.FileName, ended.Duration), Is.EqualTo((EventKind.FileTransferEnded, "declined", "report.pdf", (TimeSpan?)null)));
    }

    [Test]
    public void JingleFileTransferStartsAndEndsWithNameAndSize()
    {
        var steps = Play("jingle-file-transfer", Alice, TimeSpan.FromSeconds(5));
        var kinds = steps.Select(s => Only(s)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(kinds.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.FileOffered, EventKind.FileTransferAccepted, EventKind.FileTransferEnded }));
            Assert.That(kinds.Select(e => (e.FileName, e.FileSize)), Is.All.EqualTo(("test.txt", (long?)1022)));
            Assert.That(kinds[0].FileMediaType, Is.EqualTo("text/plain"));
            Assert.That((kinds[2].Reason, kinds[2].Duration), Is.EqualTo(("success", (TimeSpan?)TimeSpan.FromSeconds(5))));
        });
    }

    [Test]
    public void JingleAudioCallStartsIsAcceptedAndEndsWithItsDuration()
    {
        var events = Play("jingle-audio-call", Alice, TimeSpan.FromSeconds(362)).Select(Only).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.CallInitiated, EventKind.CallAccepted, EventKind.CallEnded }));
            Assert.That(events.Select(e => e.CallMedia), Is.All.EqualTo(CallMedia.Audio));
            Assert.That(events.Select(e => e.ConversationKey), Is.All.EqualTo("alice@example.test bob@example.test"));
            Assert.That((events[2].Reason, events[2].Duration), Is.EqualTo(("success", (TimeSpan?)TimeSpan.FromSeconds(362))));
            Assert.That(events[0].Direction, Is.EqualTo(Direction.Outgoing));
        });
    }

    [Test]
    public void ContentWithVideoIsAVideoCall()
    {
        var events = Play("jingle-video-call", Alice).Select(Only).ToList();
        Assert.That(events.Select(e => (e.Kind, e.CallMedia)), Is.EqualTo(new[]
        {
            (EventKind.CallInitiated, (CallMedia?)CallMedia.Video), (EventKind.CallAccepted, CallMedia.Video), (EventKind.CallEnded, CallMedia.Video),
        }));
    }

    [Test]
    public void RemoteDesktopSessionIsADesktopShare()
    {
        var events = Play("desktop-share", Alice).Select(Only).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(e => (e.Kind, e.CallMedia)), Is.EqualTo(new[] { (EventKind.CallInitiated, (CallMedia?)CallMedia.DesktopShare), (EventKind.CallEnded, CallMedia.DesktopShare) }));
            Assert.That(events[1].Duration, Is.Null, "never accepted (the fixture has no session-accept): no duration");
        });
    }

    [Test]
    public void ScreenContentInAnRtpSessionIsADesktopShare()
    {
        // The video-call fixture's session with its video content renamed as clients name a shared screen.
        var stanza = Recordings.Stanzas("events.jingle-video-call.xml")[0];
        stanza.Descendants().First(d => d.Name.LocalName == "content" && (string?)d.Attribute("name") == "video").SetAttributeValue("name", "screen");
        var e = new StanzaClassifier(Alice.Contains).Classify(new TapEnvelope(stanza, "example.test", T0)).Events.Single();
        Assert.That(e.CallMedia, Is.EqualTo(CallMedia.DesktopShare));
    }

    [Test]
    public void MultiPartyAudioSessionIsAnAudioConference()
    {
        var e = Only(Play("audio-conference", Alice)[0]);
        Assert.That((e.Kind, e.CallMedia, e.Room), Is.EqualTo((EventKind.CallInitiated, (CallMedia?)CallMedia.AudioConference, "darkcave@chat.example.test")));
    }

    [Test]
    public void CallInviteToAMeetingLinkIsAMeetingAndItsRetractionEndsIt()
    {
        var events = Play("meeting-invite", Alice).Select(Only).ToList();
        Assert.Multiple(() =>
        {
            Assert.That((events[0].Kind, events[0].CallMedia, events[0].Url), Is.EqualTo((EventKind.CallInitiated, (CallMedia?)CallMedia.Meeting, "https://meet.example.test/standup")));
            Assert.That((events[1].Kind, events[1].CallMedia, events[1].Reason), Is.EqualTo((EventKind.CallEnded, (CallMedia?)CallMedia.Meeting, "retracted")));
        });
    }

    [Test]
    public void DirectInvitationToAMeetingServiceIsAMeeting()
    {
        var stanza = Recordings.Stanzas("events.invitation-direct.xml")[0];
        stanza.Elements().Single().SetAttributeValue("jid", "standup@meet.example.test");
        var e = new StanzaClassifier(Alice.Contains).Classify(new TapEnvelope(stanza, "example.test", T0)).Events.Single();
        Assert.That((e.Kind, e.CallMedia, e.Room), Is.EqualTo((EventKind.CallInitiated, (CallMedia?)CallMedia.Meeting, "standup@meet.example.test")));
    }

    [Test]
    public void CallToATelephonyGatewayIsAPhoneCall()
    {
        var byDefault = Only(Play("phone-call", Alice)[0]);
        var configured = Only(Play("phone-call", Alice, classifier: new StanzaClassifier(Alice.Contains,
            new ClassifierOptions { TelephonyGateways = ["cheogram.example.test"] }))[0]);
        Assert.Multiple(() =>
        {
            Assert.That(byDefault.CallMedia, Is.EqualTo(CallMedia.Phone));
            Assert.That(configured.CallMedia, Is.EqualTo(CallMedia.Phone), "an E.164 local part is a phone number whatever the gateway list");
        });
    }

    [Test]
    public void JmiProposeThenRetractIsAnUnansweredCall()
    {
        var c = new StanzaClassifier(Alice.Contains);
        var propose = Only(Play("jmi-propose", Alice, classifier: c)[0]);
        var retract = Only(Play("jmi-retract", Alice, classifier: c)[0]);
        Assert.Multiple(() =>
        {
            Assert.That((propose.Kind, propose.CallMedia, propose.SessionId), Is.EqualTo((EventKind.CallInitiated, (CallMedia?)CallMedia.Audio, "jmi-1")));
            Assert.That((retract.Kind, retract.Reason, retract.Duration, retract.CallMedia), Is.EqualTo((EventKind.CallEnded, "retracted", (TimeSpan?)null, (CallMedia?)CallMedia.Audio)));
        });
    }

    [Test]
    public void JmiProposeProceedFinishIsAnAnsweredCallWithItsDuration()
    {
        var c = new StanzaClassifier(Alice.Contains);
        Play("jmi-propose", Alice, classifier: c);
        var steps = Play("jmi-finish", Alice, TimeSpan.FromSeconds(95), c);
        var finish = Only(steps[1]);
        Assert.Multiple(() =>
        {
            Assert.That(Only(steps[0]).Kind, Is.EqualTo(EventKind.CallAccepted));
            Assert.That((finish.Kind, finish.Reason, finish.Duration), Is.EqualTo((EventKind.CallEnded, "success: Success", (TimeSpan?)TimeSpan.FromSeconds(95))));
        });
    }

    [Test]
    public void JmiProceedAndRejectAnswerACall()
    {
        var proceed = Only(Play("jmi-proceed", Alice)[0]);
        var reject = Only(Play("jmi-reject", Alice)[0]);
        Assert.Multiple(() =>
        {
            Assert.That((proceed.Kind, proceed.SessionId, proceed.Direction), Is.EqualTo((EventKind.CallAccepted, "jmi-2", Direction.Incoming)));
            Assert.That((reject.Kind, reject.Reason), Is.EqualTo((EventKind.CallEnded, "rejected")));
        });
    }

    [Test]
    public void JmiProposalAndTheJingleSessionThatFollowsAreOneCall()
    {
        // Conversations' flow: propose, proceed, then the Jingle session with the same id, then finish.
        var c = new StanzaClassifier(Alice.Contains);
        var t = T0;
        Classification At(string xml, int seconds) => c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", t.AddSeconds(seconds)));
        var propose = At("<message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test'><propose xmlns='urn:xmpp:jingle-message:0' id='s1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose></message>", 0);
        var proceed = At("<message xmlns='jabber:client' from='bob@example.test/phone' to='alice@example.test/laptop'><proceed xmlns='urn:xmpp:jingle-message:0' id='s1'/></message>", 3);
        var initiate = At("<iq xmlns='jabber:client' type='set' id='j1' from='alice@example.test/laptop' to='bob@example.test/phone'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1'><content name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></content><content name='1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></content></jingle></iq>", 4);
        var accept = At("<iq xmlns='jabber:client' type='set' id='j2' from='bob@example.test/phone' to='alice@example.test/laptop'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s1'/></iq>", 5);
        var finish = At("<message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test'><finish xmlns='urn:xmpp:jingle-message:0' id='s1'><reason xmlns='urn:xmpp:jingle:1'><success/></reason></finish></message>", 727);
        var terminate = At("<iq xmlns='jabber:client' type='set' id='j3' from='alice@example.test/laptop' to='bob@example.test/phone'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/></reason></jingle></iq>", 727);
        var selfAccept = At("<message xmlns='jabber:client' from='bob@example.test/phone' to='bob@example.test'><accept xmlns='urn:xmpp:jingle-message:0' id='s1'/></message>", 3);
        Assert.Multiple(() =>
        {
            Assert.That(propose.Events.Single().CallMedia, Is.EqualTo(CallMedia.Video));
            Assert.That(proceed.Events.Single().Kind, Is.EqualTo(EventKind.CallAccepted));
            Assert.That(initiate.Events, Is.Empty, initiate.Reason);
            Assert.That(accept.Events, Is.Empty, accept.Reason);
            Assert.That((finish.Events.Single().Kind, finish.Events.Single().Reason), Is.EqualTo((EventKind.CallEnded, "success")));
            Assert.That(finish.Events.Single().Duration, Is.EqualTo(TimeSpan.FromMinutes(12) + TimeSpan.FromSeconds(4)));
            Assert.That(terminate.Events, Is.Empty, terminate.Reason);
            Assert.That(selfAccept.Events, Is.Empty, selfAccept.Reason);
        });
    }

    [Test]
    public void AnAnswerCopiedBeforeItsInitiationStillLeavesBothOnRecord()
    {
        // Each party's stanzas reach the component through their own server session: the copies can cross.
        var c = new StanzaClassifier(Alice.Contains);
        var stanzas = Recordings.Stanzas("events.jingle-audio-call.xml");
        var accept = c.Classify(new TapEnvelope(stanzas[1], "example.test", T0));
        var initiate = c.Classify(new TapEnvelope(stanzas[0], "example.test", T0));
        var again = c.Classify(new TapEnvelope(stanzas[0], "example.test", T0));
        var end = c.Classify(new TapEnvelope(stanzas[2], "example.test", T0.AddSeconds(90)));
        Assert.Multiple(() =>
        {
            Assert.That(accept.Events.Single().Kind, Is.EqualTo(EventKind.CallAccepted));
            Assert.That((initiate.Events.Single().Kind, initiate.Events.Single().CallMedia), Is.EqualTo((EventKind.CallInitiated, (CallMedia?)CallMedia.Audio)));
            Assert.That(again.Events, Is.Empty, again.Reason);
            Assert.That((end.Events.Single().Kind, end.Events.Single().Duration), Is.EqualTo((EventKind.CallEnded, (TimeSpan?)TimeSpan.FromSeconds(90))));
        });
    }

    [Test]
    public void BothPartiesCopiesOfAJingleSignalAreOneEvent()
    {
        var c = new StanzaClassifier(AliceAndBob.Contains);
        var initiate = Recordings.Stanzas("events.jingle-audio-call.xml")[0];
        var first = c.Classify(new TapEnvelope(initiate, "example.test", T0));
        var second = c.Classify(new TapEnvelope(initiate, "example.test", T0));
        Assert.Multiple(() =>
        {
            Assert.That(first.Events.Single().LoggedUsers, Is.EquivalentTo(AliceAndBob));
            Assert.That(first.Events.Single().Direction, Is.EqualTo(Direction.Both));
            Assert.That(second.Events, Is.Empty, second.Reason);
        });
    }

    [TestCase("encrypted-omemo", 0, "OMEMO")]
    [TestCase("encrypted-omemo", 1, "OMEMO 2")]
    [TestCase("encrypted-openpgp-otr", 0, "OpenPGP (XEP-0373)")]
    [TestCase("encrypted-openpgp-otr", 1, "OpenPGP (XEP-0027)")]
    [TestCase("encrypted-openpgp-otr", 2, "OTR")]
    [TestCase("encrypted-openpgp-otr", 3, "OTR")]
    public void EndToEndEncryptedPayloadsAreTheirOwnKind(string fixture, int index, string scheme)
    {
        var e = Only(Play(fixture, Alice)[index]);
        Assert.That((e.Kind, e.EncryptionScheme), Is.EqualTo((EventKind.Encrypted, scheme)));
    }

    [Test]
    public void AnEmeMarkerBesidePlainTextIsTheText()
    {
        // slixmpp's add_eme: the body is plain text, the marker only names a scheme (issue 13: archive the text).
        var e = Only(Play("encrypted-eme", Alice)[0]);
        Assert.That((e.Kind, e.Text), Is.EqualTo((EventKind.Message, "This message is encrypted with OMEMO")));
    }

    [Test]
    public void OmemoWithoutPayloadIsKeyExchangeNotAMessage()
    {
        // The omemo:2 message of the fixture without its payload: how clients set up sessions and send heartbeats.
        var stanza = Recordings.Stanzas("events.encrypted-omemo.xml")[1];
        stanza.Descendants().Single(d => d.Name.LocalName == "payload").Remove();
        var e = new StanzaClassifier(Alice.Contains).Classify(new TapEnvelope(stanza, "example.test", T0)).Events.Single();
        Assert.That((e.Kind, e.EncryptionScheme, e.Reason), Is.EqualTo((EventKind.Encrypted, "OMEMO 2", "key exchange, no message content")));
    }

    [Test]
    public void HousekeepingIsIgnoredWithAReasonAndAnythingElseIsKeptRaw()
    {
        var housekeeping = Play("housekeeping", Alice);
        var unknown = Play("unclassified", Alice);
        Assert.Multiple(() =>
        {
            Assert.That(housekeeping.SelectMany(s => s.Result.Events), Is.Empty);
            Assert.That(housekeeping.Select(s => s.Result.Reason), Is.All.Contains("housekeeping"));
            Assert.That(unknown.Select(s => Only(s).Kind), Is.All.EqualTo(EventKind.Unclassified));
            Assert.That(Only(unknown[0]).Text, Is.EqualTo("{urn:xmpp:attention:0}attention"));
            Assert.That(Only(unknown[1]).RawXml, Does.Contain("http://jabber.org/protocol/commands"));
            Assert.That(unknown.Select(s => s.Result.Reason), Is.All.Contains("raw XML"));
        });
    }
}

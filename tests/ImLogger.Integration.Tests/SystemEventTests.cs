using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The system events of issue 3 travel from real slixmpp clients through Debian's Prosody (tap rules) and the real
/// `imlogger run` to the directory endpoint: invitations, a join and a leave, file transfers offered and ended, a
/// Jingle audio call and a video call with start and end, a JMI propose and retract, and the rest of the kinds.
/// The stanzas are the fixtures' (tests/ImLogger.Core.Tests/Resources/events), addressed to the clients' real JIDs
/// and sent raw, without from (the server stamps it), for the payloads slixmpp has no plugin for.
/// </summary>
[TestFixture]
public class SystemEventTests
{
    /// <summary>Set to a directory to copy the archived transcripts there (how samples/system-events-*.eml were made).</summary>
    private const string SamplesVariable = "IMLOGGER_WRITE_SAMPLES";

    private static object Send(string who, string xml) => new { @as = Jid(who), @do = "send", xml };

    private static string[] TextLines(MimeKit.MimeMessage m) =>
        (m.TextBody ?? "").ReplaceLineEndings("\n").Split('\n').Where(l => l.StartsWith('[')).ToArray();

    private static MimeKit.MimeMessage Conversation(IReadOnlyList<MimeKit.MimeMessage> archived, string key) =>
        archived.SingleOrDefault(m => m.Headers["X-ImLogger-Conversation"] == key)
        ?? throw new AssertionException($"no transcript of {key}; archived: {string.Join(", ", archived.Select(m => m.Headers["X-ImLogger-Conversation"]))}");

    [Test, CancelAfter(180_000)]
    public async Task EveryKindOfSystemEventIsArchived()
    {
        await using var world = await TapDeployment.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        const string bob = "bob@example.test/test", alice = "alice@example.test/test";
        var lobby = Room("lobby");

        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "hello bob"), Expect("bob", "alice", "hello bob"),
            // invitations: XEP-0249 direct (slixmpp xep_0249), then a join, a subject, an XEP-0045 mediated invitation, a leave
            Send("alice", $"<message to='bob@example.test'><x xmlns='jabber:x:conference' jid='{lobby}' reason='standup in 5'/></message>"),
            Join("alice", "lobby", "alice"), Join("bob", "lobby", "bob"),
            Send("alice", $"<message to='{lobby}' type='groupchat'><subject>Q4 planning</subject></message>"),
            Send("alice", $"<message to='{lobby}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@example.test'><reason>join us</reason></invite></x></message>"),
            Send("bob", $"<message to='{lobby}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='alice@example.test'><reason>busy</reason></decline></x></message>"),
            Pause(0.5),
            Leave("bob", "lobby", "bob"),
            Pause(0.5),
            // XEP-0096 SI offer: bob's client has no SI profile and refuses it (that is its end), then a Jingle file transfer offered and ended
            Send("alice", $"<iq type='set' id='si-offer-1' to='{bob}'><si xmlns='http://jabber.org/protocol/si' id='si-1' mime-type='application/pdf' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='report.pdf' size='48213'/><feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='form'><field var='stream-method' type='list-single'><option><value>http://jabber.org/protocol/ibb</value></option></field></x></feature></si></iq>"),
            Send("alice", $"<iq type='set' id='ft1' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='{alice}' sid='851ba2'><content creator='initiator' name='a-file-offer'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><media-type>text/plain</media-type><name>test.txt</name><size>1022</size></file></description><transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='ch3d9s71'/></content></jingle></iq>"),
            Pause(0.3),
            Send("bob", $"<iq type='set' id='ft2' to='{alice}'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' initiator='{alice}' sid='851ba2'><content creator='initiator' name='a-file-offer'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>test.txt</name><size>1022</size></file></description></content></jingle></iq>"),
            Pause(1.2),
            Send("alice", $"<iq type='set' id='ft3' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='851ba2'><reason><success/></reason></jingle></iq>"),
            // a shared upload (XEP-0066 link)
            Send("alice", "<message to='bob@example.test' type='chat'><body>https://upload.example.test/f/abc/report.pdf</body><x xmlns='jabber:x:oob'><url>https://upload.example.test/f/abc/report.pdf</url></x></message>"),
            // a shared file with XEP-0446 metadata (XEP-0447), and a call to a telephony gateway's number
            Send("alice", "<message to='bob@example.test' type='chat' id='sharing-a-file'><file-sharing xmlns='urn:xmpp:sfs:0' disposition='inline'><file xmlns='urn:xmpp:file:metadata:0'><media-type>image/jpeg</media-type><name>summit.jpg</name><size>3032449</size></file><sources><url-data xmlns='http://jabber.org/protocol/url-data' target='https://upload.example.test/4a771ac1/summit.jpg'/></sources></file-sharing></message>"),
            Send("alice", $"<iq type='set' id='p1' to='+15551234567@sip.example.test'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='{alice}' sid='37665'><content creator='initiator' name='audio' senders='both'><description xmlns='urn:xmpp:jingle:apps:rtp:1'><payload-type id='0' name='PCMU'/></description></content></jingle></iq>"),
            Send("alice", "<iq type='set' id='p2' to='+15551234567@sip.example.test'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='37665'><reason><cancel/></reason></jingle></iq>"),
            // a Jingle audio call alice -> bob, answered and hung up
            Send("alice", $"<iq type='set' id='in1' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='{alice}' sid='call-999'><content creator='initiator' name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='96' name='opus' clockrate='48000'/></description></content></jingle></iq>"),
            Pause(0.3),
            Send("bob", $"<iq type='set' id='in2' to='{alice}'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' initiator='{alice}' sid='call-999'><content creator='responder' name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='96' name='opus' clockrate='48000'/></description></content></jingle></iq>"),
            Pause(1.2),
            Send("bob", $"<iq type='set' id='in3' to='{alice}'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='call-999'><reason><success/></reason></jingle></iq>"),
            // a Jingle video call bob -> alice
            Send("bob", $"<iq type='set' id='v1' to='{alice}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='c1025763497' initiator='{bob}'><content name='video'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='99' name='H264-SVC'/></description></content><content name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></content></jingle></iq>"),
            Pause(0.3),
            Send("alice", $"<iq type='set' id='v2' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='c1025763497' initiator='{bob}'><content name='video'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></content><content name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></content></jingle></iq>"),
            Pause(1.2),
            Send("alice", $"<iq type='set' id='v3' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='c1025763497'><reason><success/></reason></jingle></iq>"),
            // XEP-0353 propose and retract (slixmpp xep_0353)
            Send("alice", "<message to='bob@example.test'><propose xmlns='urn:xmpp:jingle-message:0' id='jmi-1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"),
            Pause(0.5),
            Send("alice", "<message to='bob@example.test'><retract xmlns='urn:xmpp:jingle-message:0' id='jmi-1'/></message>"),
            // the other kinds, for the sample transcript: correction, retraction, desktop share, meeting, conference, encrypted, unknown
            Send("alice", "<message to='bob@example.test' type='chat' id='msg-1'><body>see you at 10</body><origin-id xmlns='urn:xmpp:sid:0' id='msg-1'/></message>"),
            Send("alice", "<message to='bob@example.test' type='chat' id='msg-2'><body>see you at 11</body><origin-id xmlns='urn:xmpp:sid:0' id='msg-2'/><replace xmlns='urn:xmpp:message-correct:0' id='msg-1'/></message>"),
            Send("bob", "<message to='alice@example.test' type='chat'><reactions xmlns='urn:xmpp:reactions:0' id='msg-1'><reaction>\U0001F44D</reaction></reactions><store xmlns='urn:xmpp:hints'/></message>"),
            Send("alice", "<message to='bob@example.test' type='chat' id='msg-3'><body>This person attempted to retract a previous message, but your client does not support it.</body><retract xmlns='urn:xmpp:message-retract:1' id='msg-2'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/><store xmlns='urn:xmpp:hints'/></message>"),
            Send("alice", $"<iq type='set' id='d1' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='2227053353' initiator='{alice}'><content name='chromoting' creator='initiator'><description xmlns='google:remoting'><standard-ice/></description></content></jingle></iq>"),
            Send("alice", $"<iq type='set' id='d2' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='2227053353'><reason><success/></reason></jingle></iq>"),
            Send("bob", "<message to='alice@example.test' type='chat' id='id1'><invite xmlns='urn:xmpp:call-invites:0' video='true'><external uri='https://meet.example.test/standup'/></invite></message>"),
            Send("alice", $"<iq type='set' id='zid615d9' to='{bob}'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='{alice}' sid='a73sjjvkla37jfea'><muji xmlns='urn:xmpp:jingle:muji:0' room='darkcave@{ProsodyServer.Muc}'/><content creator='initiator' name='voice'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></content></jingle></iq>"),
            Send("bob", "<message to='alice@example.test' type='chat' id='c1'><body>I sent you an OMEMO encrypted message but your client doesn't seem to support that.</body><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='2005576180'><key rid='42'>MwohBQ==</key><iv>AAECAwQFBgcICQoL</iv></header><payload>AQIDBAUGBwgJ</payload></encrypted><encryption xmlns='urn:xmpp:eme:0' name='OMEMO' namespace='eu.siacs.conversations.axolotl'/></message>"),
            Send("alice", "<message to='bob@example.test' type='headline'><attention xmlns='urn:xmpp:attention:0'/></message>"),
            Chat("bob", "alice", "bye"), Expect("alice", "bob", "bye"),
            Disconnect("alice"));

        // 32 events in the chat, 7 in the room (joins, subject, invitation, decline, leaves), 2 of the phone call; give the last copies a moment,
        // the graceful stop spools whatever else was read.
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 38);
        await Task.Delay(1000);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, "graceful stop");

        var archived = world.Archived();
        var chat = TextLines(Conversation(archived, "alice@example.test bob@example.test"));
        var room = TextLines(Conversation(archived, "lobby@conference.example.test"));
        var phone = TextLines(Conversation(archived, "+15551234567@sip.example.test alice@example.test"));
        var text = string.Join("\n", chat);
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("* alice@example.test invited bob@example.test to the group chat lobby@conference.example.test: \"standup in 5\""));
            Assert.That(text, Does.Contain("* alice@example.test/test offered \"report.pdf\" (47.1 KB (48,213 bytes), application/pdf) to bob@example.test [session si-1]"));
            Assert.That(text, Does.Match(@"\* bob@example\.test/test ended the transfer of ""report\.pdf"" .*\(rejected \(\S+\)\), no duration"), "bob's client refused the SI offer");
            Assert.That(text, Does.Contain("* alice@example.test/test offered \"test.txt\" (1,022 bytes, text/plain) to bob@example.test [session 851ba2]"));
            Assert.That(text, Does.Contain("* bob@example.test/test accepted the transfer of \"test.txt\""));
            Assert.That(text, Does.Match(@"\* alice@example\.test/test ended the transfer of ""test\.txt"" .*\(success\) after [1-9] s"));
            Assert.That(text, Does.Contain("* alice@example.test/test shared \"report.pdf\" with bob@example.test <https://upload.example.test/f/abc/report.pdf>"));
            Assert.That(text, Does.Contain("* alice@example.test/test started a PC-to-PC (audio) call with bob@example.test [session call-999]"));
            Assert.That(text, Does.Contain("* bob@example.test/test accepted the PC-to-PC (audio) call [session call-999]"));
            Assert.That(text, Does.Match(@"\* bob@example\.test/test ended the PC-to-PC \(audio\) call \(success\) after [1-9] s \[session call-999\]"));
            Assert.That(text, Does.Contain("* bob@example.test/test started a video call with alice@example.test [session c1025763497]"));
            Assert.That(text, Does.Contain("* alice@example.test/test accepted the video call [session c1025763497]"));
            Assert.That(text, Does.Match(@"\* alice@example\.test/test ended the video call \(success\) after [1-9] s \[session c1025763497\]"));
            Assert.That(text, Does.Contain("* alice@example.test/test started a PC-to-PC (audio) call with bob@example.test [session jmi-1]"));
            Assert.That(text, Does.Contain("* alice@example.test/test ended the PC-to-PC (audio) call (retracted), no duration (its acceptance was not seen) [session jmi-1]"));
            Assert.That(text, Does.Contain("corrected message msg-1 \"see you at 10\" to: see you at 11"));
            Assert.That(text, Does.Contain("* bob@example.test/test reacted \U0001F44D to message msg-1 \"see you at 10\""));
            Assert.That(text, Does.Contain("retracted message msg-2 \"see you at 11\"; the original stays archived"));
            Assert.That(text, Does.Contain("started a desktop share with bob@example.test"));
            Assert.That(text, Does.Contain("* bob@example.test/test started a meeting with alice@example.test at <https://meet.example.test/standup>"));
            Assert.That(text, Does.Contain("started an audio conference with bob@example.test in darkcave@conference.example.test"));
            Assert.That(text, Does.Contain("[end-to-end encrypted message (OMEMO); the archive cannot read its content]"));
            Assert.That(text, Does.Contain("sent a stanza the archive has no rule for ({urn:xmpp:attention:0}attention)"));
            Assert.That(text, Does.Not.Contain("I sent you an OMEMO"));
            Assert.That(text, Does.Contain("* alice@example.test/test shared \"summit.jpg\" (2.9 MB (3,032,449 bytes), image/jpeg) with bob@example.test <https://upload.example.test/4a771ac1/summit.jpg>"));
            Assert.That(phone, Has.Some.Contains("* alice@example.test/test started a phone call with +15551234567@sip.example.test [session 37665]"));
            Assert.That(phone, Has.Some.Contains("* alice@example.test/test ended the phone call (cancel), no duration (its acceptance was not seen) [session 37665]"));
            Assert.That(room, Has.Some.Contains("* bob@example.test declined the invitation of alice@example.test to the group chat lobby@conference.example.test: \"busy\""));
            Assert.That(room, Has.Some.Contains("* alice (alice@example.test) joined the room"));
            Assert.That(room, Has.Some.Contains("* bob (bob@example.test) joined the room"));
            Assert.That(room, Has.Some.Contains("set the room's subject to: Q4 planning"));
            Assert.That(room, Has.Some.Contains("* alice@example.test invited carol@example.test to the group chat lobby@conference.example.test: \"join us\""));
            Assert.That(room, Has.Some.Contains("* bob (bob@example.test) left the room"));
            Assert.That(room.Count(l => l.Contains("Q4 planning")), Is.EqualTo(1), "the subject's reflection is not a second change");
        });

        if (Environment.GetEnvironmentVariable(SamplesVariable) is { Length: > 0 } samples)
            foreach (var (key, name) in new[] { ("alice@example.test bob@example.test", "system-events-chat.eml"), ("lobby@conference.example.test", "system-events-groupchat.eml"),
                         ("+15551234567@sip.example.test alice@example.test", "system-events-phone.eml") })
            {
                var file = Directory.GetFiles(world.ArchiveDir, "*.eml").Single(f => MimeKit.MimeMessage.Load(f).Headers["X-ImLogger-Conversation"] == key);
                File.Copy(file, Path.Combine(samples, name), overwrite: true);
            }
    }
}

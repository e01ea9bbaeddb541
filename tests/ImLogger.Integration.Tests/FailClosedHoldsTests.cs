using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Inline fail-closed holds every stanza that can carry content, not only chat messages: error messages with a body
/// and error text, iq answers with a payload, PEP publishes and the notifications they cause, vCard sets and the
/// vCard others fetch, presence with a status to a bare JID. Both directions, on real Prosody with real clients:
/// while the component runs each is delivered and archived with its words; once it is killed (kill -9, mid-session,
/// both users still online) none is delivered.
/// </summary>
[TestFixture]
public class FailClosedHoldsTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="3s" />""";
    private const string Node = "urn:imlogger:test:notes";

    private static string ErrorMessage(string to, string id, string marker) =>
        $"<message to='{to}' type='error' id='{id}'><body>{marker} body</body><error type='cancel'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        + $"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{marker} text</text></error></message>";

    private static string VersionResult(string to, string id, string marker) =>
        $"<iq type='result' to='{to}' id='{id}'><query xmlns='jabber:iq:version'><name>{marker}</name><version>1</version></query></iq>";

    private static string StatusToBare(string to, string marker) => $"<presence to='{to}'><status>{marker}</status></presence>";

    /// <summary>Whitespace a client could use as bits (space 0, tab 1): no visible character, thousands of them.</summary>
    private static string WhitespaceBits(int count) => new([.. Enumerable.Range(0, count).Select(i => i % 3 == 0 ? '\t' : ' ')]);

    private static string VCardSet(string id, string marker) => $"<iq type='set' id='{id}'><vCard xmlns='vcard-temp'><DESC>{marker}</DESC></vCard></iq>";

    private static string VCardGet(string of, string id) => $"<iq type='get' to='{of}' id='{id}'><vCard xmlns='vcard-temp'/></iq>";

    /// <summary>A PEP publish to the user's own account, to a node anyone may subscribe to.</summary>
    private static string Publish(string id, string marker) =>
        $"<iq type='set' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{Node}'><item><note xmlns='urn:imlogger:test'>{marker}</note></item></publish>"
        + "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
        + "<field var='pubsub#access_model'><value>open</value></field></x></publish-options></pubsub></iq>";

    private static string Subscribe(string owner, string subscriber, string id) =>
        $"<iq type='set' to='{owner}' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{Node}' jid='{subscriber}'/></pubsub></iq>";

    /// <summary>Each channel once, alice (logged) sending to bob (not logged) and bob to alice; markers say which.</summary>
    private static IEnumerable<object> EveryChannel(string phase, bool running)
    {
        string alice = Jid("alice"), bob = Jid("bob");
        yield return Send("alice", ErrorMessage(bob + "/test", $"e-out-{phase}", $"ERR-{phase}-OUT"));
        yield return Send("bob", ErrorMessage(alice + "/test", $"e-in-{phase}", $"ERR-{phase}-IN"));
        yield return Send("alice", VersionResult(bob + "/test", $"v-out-{phase}", $"VER-{phase}-OUT"));
        yield return Send("bob", VersionResult(alice + "/test", $"v-in-{phase}", $"VER-{phase}-IN"));
        yield return Send("alice", StatusToBare(bob, $"PRES-{phase}-OUT"));
        yield return Send("bob", StatusToBare(alice, $"PRES-{phase}-IN"));
        yield return Send("alice", Publish($"pub-a-{phase}", $"PEP-{phase}-OUT"));
        yield return ExpectRaw("alice", $"pub-a-{phase}"); // a result while running, an error once killed
        yield return Send("bob", Publish($"pub-b-{phase}", $"PEP-{phase}-IN"));
        yield return Send("alice", VCardSet($"vc-a-{phase}", $"VCARD-{phase}-ALICE"));
        yield return ExpectRaw("alice", $"vc-a-{phase}");
        yield return Send("bob", VCardSet($"vc-b-{phase}", $"VCARD-{phase}-BOB"));
        yield return ExpectRaw("bob", $"vc-b-{phase}");
        yield return Send("bob", VCardGet(alice, $"vcg-b-{phase}"));
        yield return ExpectRaw("bob", $"vcg-b-{phase}");
        yield return Send("alice", VCardGet(bob, $"vcg-a-{phase}"));
        yield return ExpectRaw("alice", $"vcg-a-{phase}");
        if (!running) yield break;
        foreach (var marker in new[] { "ERR-RUN-OUT", "VER-RUN-OUT", "PRES-RUN-OUT", "PEP-RUN-OUT" }) yield return ExpectRaw("bob", marker);
        foreach (var marker in new[] { "ERR-RUN-IN", "VER-RUN-IN", "PRES-RUN-IN", "PEP-RUN-IN" }) yield return ExpectRaw("alice", marker);
    }

    // VCARD-RUN-BOB: the vCard alice fetched, which the server answers itself, straight to her session.
    private static readonly string[] RunMarkers = ["ERR-RUN-OUT", "ERR-RUN-IN", "VER-RUN-OUT", "VER-RUN-IN", "PRES-RUN-OUT", "PRES-RUN-IN", "PEP-RUN-OUT", "PEP-RUN-IN", "VCARD-RUN-ALICE", "VCARD-RUN-BOB"];

    /// <summary>Tap mode sees the same stanzas (mod_firewall's preroute and deliver chains are the events the inline
    /// module hooks): each channel is archived with its words. The one exception is the vCard the server answers
    /// itself, straight to alice's session: no copy of it exists.</summary>
    [Test, CancelAfter(180_000)]
    public async Task TapArchivesEveryChannelThatCarriesWords()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        string alice = Jid("alice"), bob = Jid("bob");
        var steps = new List<object>
        {
            Connect("alice"), Connect("bob"),
            Send("alice", Publish("pub-a-0", "PEP-SETUP-A")), ExpectRaw("alice", "pub-a-0"),
            Send("bob", Publish("pub-b-0", "PEP-SETUP-B")), ExpectRaw("bob", "pub-b-0"),
            Send("bob", Subscribe(alice, bob, "sub-b")), ExpectRaw("bob", "sub-b"),
            Send("alice", Subscribe(bob, alice, "sub-a")), ExpectRaw("alice", "sub-a"),
        };
        steps.AddRange(EveryChannel("RUN", running: true));
        steps.Add(Pause());
        await RunCollectingAsync(world.Prosody, world.Dir, [.. steps]);

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            foreach (var marker in RunMarkers.Where(m => m != "VCARD-RUN-BOB"))
                Assert.That(archived, Does.Contain(marker), $"{marker} is archived with its words");
        });
    }

    [Test, CancelAfter(240_000)]
    public async Task EveryChannelThatCarriesWordsIsArchivedWhileRunningAndHeldOnceKilled()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Closed);
        var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        var ready = Path.Combine(world.Dir, "ready-to-kill");
        var killed = Path.Combine(world.Dir, "killed");
        string alice = Jid("alice"), bob = Jid("bob");

        var steps = new List<object>
        {
            Connect("alice"), Connect("bob"),
            // Subscriptions to each other's notes (open nodes), made while ImLogger runs.
            Send("alice", Publish("pub-a-0", "PEP-SETUP-A")), ExpectRaw("alice", "pub-a-0"),
            Send("bob", Publish("pub-b-0", "PEP-SETUP-B")), ExpectRaw("bob", "pub-b-0"),
            Send("bob", Subscribe(alice, bob, "sub-b")), ExpectRaw("bob", "sub-b"),
            Send("alice", Subscribe(bob, alice, "sub-a")), ExpectRaw("alice", "sub-a"),
        };
        // bob lets alice see his presence (the server answers questions about bob's account only to such contacts).
        steps.Add(Send("alice", $"<presence to='{bob}' type='subscribe'/>"));
        steps.Add(ExpectRaw("bob", "type=\"subscribe\""));
        steps.Add(Send("bob", $"<presence to='{alice}' type='subscribed'/>"));
        steps.Add(ExpectRaw("alice", "type=\"subscribed\""));
        steps.AddRange(EveryChannel("RUN", running: true));
        // Words smuggled into housekeeping shapes while ImLogger runs: held, so delivered only once archived.
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'>SMUGGLE-RUN-STATE</composing></message>"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat'><received xmlns='urn:xmpp:receipts' id='r1'>SMUGGLE-RUN-RECEIPT</received></message>"));
        steps.Add(ExpectRaw("bob", "SMUGGLE-RUN-RECEIPT"));
        // Encrypted content one wrapper deeper: an OMEMO payload in a PEP item is refused, and reaches no subscriber.
        steps.Add(Send("alice", Publish("pub-omemo", "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>a2V5</key><iv>aXY=</iv></header><payload>T01FTU8tUEVQ</payload></encrypted>")));
        steps.Add(ExpectRaw("alice", "pub-omemo"));
        steps.Add(Signal(ready));
        steps.Add(WaitFile(killed));
        steps.AddRange(EveryChannel("DOWN", running: false));
        // Content-free shapes still pass while ImLogger is away (a chat state, a ping and its empty answer); the
        // same shapes with words smuggled in (text in a chat state, an over-long receipt id, a disco node) do not.
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat' id='cs-free'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        steps.Add(ExpectRaw("bob", "cs-free"));
        steps.Add(Send("alice", $"<iq type='get' to='{bob}/test' id='ping-free'><ping xmlns='urn:xmpp:ping'/></iq>"));
        steps.Add(ExpectRaw("alice", "ping-free"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'>SMUGGLE-STATE</composing></message>"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat'><received xmlns='urn:xmpp:receipts' id='SMUGGLE-RECEIPT-{new string('x', 200)}'/></message>"));
        steps.Add(Send("alice", $"<iq type='get' to='{bob}/test' id='smuggle-node'><query xmlns='http://jabber.org/protocol/disco#info' node='SMUGGLE-NODE'/></iq>"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat' data='SMUGGLE-ATTR'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        // The same shapes with words in what content_free() allowed: a long xml:lang, a made-up type, a receipt
        // repeated (each id 128 characters, a list of them is a text), spaces and tabs as bits, a made-up resource.
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat' xml:lang='SMUGGLE-LANG-{new string('l', 200)}'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='SMUGGLE-TYPE'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat'>"
            + string.Concat(Enumerable.Range(0, 40).Select(i => $"<received xmlns='urn:xmpp:receipts' id='SMUGGLE-REPEAT-{i:D3}'/>")) + "</message>"));
        steps.Add(Send("alice", $"<message to='{bob}/test' type='chat' id='SMUGGLE-BITS'>{WhitespaceBits(4000)}<active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        steps.Add(Send("alice", $"<message to='{bob}/SMUGGLE-RESOURCE-{new string('r', 900)}' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"));
        // The server answers a disco#items to bob's account itself, straight to alice's session: the PEP node names
        // bob chose (an open node he creates now, unlogged, so unheld) are words, so the answer is held like any other.
        steps.Add(Send("bob", $"<iq type='set' id='pub-named'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='SMUGGLE-PEPNAME'><item><x xmlns='urn:imlogger:test'/></item></publish>"
            + "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
            + "<field var='pubsub#access_model'><value>open</value></field></x></publish-options></pubsub></iq>"));
        steps.Add(ExpectRaw("bob", "pub-named"));
        steps.Add(Send("alice", $"<iq type='get' to='{bob}' id='items-of-bob'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
        steps.Add(Pause(4)); // longer than the adapter's timeout: whatever was held has been refused by now
        var scenario = RunCollectingAsync(world.Prosody, world.Dir, [.. steps]);

        while (!File.Exists(ready) && !scenario.IsCompleted) await Task.Delay(100);
        imlogger.KillHard();
        await imlogger.DisposeAsync();
        await File.WriteAllTextAsync(killed, "");
        var (_, raw) = await scenario;

        string Seen(string who) => string.Join('\n', (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x));
        var bobSaw = Seen("bob");
        var aliceSaw = Seen("alice");
        Assert.Multiple(() =>
        {
            foreach (var marker in new[] { "ERR-DOWN-OUT", "VER-DOWN-OUT", "PRES-DOWN-OUT", "PEP-DOWN-OUT", "VCARD-DOWN-ALICE" })
                Assert.That(bobSaw, Does.Not.Contain(marker), "alice's words reach nobody while ImLogger is killed");
            foreach (var marker in new[] { "ERR-DOWN-IN", "VER-DOWN-IN", "PRES-DOWN-IN", "PEP-DOWN-IN", "VCARD-DOWN-BOB" })
                Assert.That(aliceSaw, Does.Not.Contain(marker), "nobody's words reach alice while ImLogger is killed");
            Assert.That(bobSaw, Does.Contain("VCARD-RUN-ALICE"), "bob fetched the vCard alice set while ImLogger ran");
            foreach (var smuggled in new[] { "STATE", "RECEIPT", "NODE", "ATTR", "LANG", "TYPE", "REPEAT", "BITS", "RESOURCE" })
                Assert.That(bobSaw, Does.Not.Contain("SMUGGLE-" + smuggled), $"words hidden in a content-free shape ({smuggled}) are held");
            Assert.That(bobSaw, Does.Not.Contain("T01FTU8tUEVQ"), "an encrypted PEP item reaches no subscriber");
            Assert.That(aliceSaw, Does.Not.Contain("SMUGGLE-PEPNAME"), "a server-given answer naming bob's words is held while ImLogger is killed");
            Assert.That(aliceSaw, Does.Match("id=.pub-omemo.[^>]*type=.error.|type=.error.[^>]*id=.pub-omemo."), "alice's encrypted publish is refused");
            Assert.That(aliceSaw, Does.Contain("VCARD-RUN-BOB"), "alice fetched bob's vCard while ImLogger ran");
        });

        // The spool kept what was archived before the kill; a graceful run delivers the transcripts.
        await using var again = world.RunImLogger("imlogger-again");
        await ImLoggerProcess.WaitConnectedAsync(again);
        Assert.That(await again.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            foreach (var marker in RunMarkers.Concat(["SMUGGLE-RUN-STATE", "SMUGGLE-RUN-RECEIPT"]))
                Assert.That(archived, Does.Contain(marker), $"{marker} is archived with its words");
        });
    }
}

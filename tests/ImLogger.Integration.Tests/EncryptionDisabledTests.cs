using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Encryption disabled at the server for logged users (issue 17), on real Prosody and ejabberd with real clients, in the stanza shapes
/// Conversations, Dino, Gajim, Monal and converse.js send (XEP-0384 0.3 and 0.8, XEP-0373): a logged user cannot publish,
/// delete, configure, subscribe to or fetch OMEMO and OpenPGP key nodes; a device list she published before she was logged
/// is deleted when she signs in; peers find none for her; notifications of peers' device lists do not reach her; two users
/// who are not logged keep encryption with each other. Every refused attempt is archived as refused.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)] // its tests too: each starts its own servers
public class EncryptionDisabledTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private const string DeviceList = "eu.siacs.conversations.axolotl.devicelist";

    // Conversations and Monal: the OMEMO 0.3 device list with item id "current" and an open access model.
    private static string PublishOpen(string id, string node, string item, string payload) =>
        $"<iq type='set' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{node}'><item id='{item}'>{payload}</item></publish>"
        + "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
        + "<field var='pubsub#access_model'><value>open</value></field></x></publish-options></pubsub></iq>";

    private static string Omemo03List(int device) => $"<list xmlns='eu.siacs.conversations.axolotl'><device id='{device}'/></list>";

    private static string Fetch(string id, string to, string node) =>
        $"<iq type='get' id='{id}' to='{to}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='{node}' max_items='1'/></pubsub></iq>";

    /// <summary>Every attempt alice (logged) makes in phase 2, by iq id: each must come back as an error.</summary>
    private static readonly (string Id, string Xml)[] AliceAttempts =
    [
        ("p03", PublishOpen("p03", DeviceList, "current", Omemo03List(44444))),
        ("p03b", PublishOpen("p03b", "eu.siacs.conversations.axolotl.bundles:44444", "current",
            "<bundle xmlns='eu.siacs.conversations.axolotl'><signedPreKeyPublic signedPreKeyId='1'>c3Br</signedPreKeyPublic><signedPreKeySignature>c2ln</signedPreKeySignature>"
            + "<identityKey>aWs=</identityKey><prekeys><preKeyPublic preKeyId='1'>cGs=</preKeyPublic></prekeys></bundle>")),
        // Gajim and Dino (OMEMO 2): devices with a label, bundles keyed by device id, max_items in publish-options.
        ("p2d", "<iq type='set' id='p2d'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:omemo:2:devices'><item id='current'>"
                + "<devices xmlns='urn:xmpp:omemo:2'><device id='44444' label='Gajim on laptop'/></devices></item></publish></pubsub></iq>"),
        ("p2b", "<iq type='set' id='p2b'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:omemo:2:bundles'><item id='44444'>"
                + "<bundle xmlns='urn:xmpp:omemo:2'><spk id='1'>c3Br</spk><spks>c2ln</spks><ik>aWs=</ik><prekeys><pk id='1'>cGs=</pk></prekeys></bundle></item></publish>"
                + "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
                + "<field var='pubsub#max_items'><value>max</value></field></x></publish-options></pubsub></iq>"),
        // OpenPGP for XMPP (XEP-0373): the key list and one key.
        ("poxm", "<iq type='set' id='poxm'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:openpgp:0:public-keys'><item>"
                 + "<public-keys-list xmlns='urn:xmpp:openpgp:0'><pubkey-metadata v4-fingerprint='1357B01865B2503C18453D208CAC2A9678548E35' date='2018-03-01T15:26:12Z'/></public-keys-list></item></publish></pubsub></iq>"),
        ("poxk", "<iq type='set' id='poxk'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:openpgp:0:public-keys:1357B01865B2503C18453D208CAC2A9678548E35'>"
                 + "<item id='2018-03-01T15:26:12Z'><pubkey xmlns='urn:xmpp:openpgp:0'><data>QkFTRTY0</data></pubkey></item></publish></pubsub></iq>"),
        // Hostile: a node in another case with spaces, an empty item (nothing the encryption pass could see), an owner delete
        // and configure, a subscription to a peer's list, a fetch of a peer's list, a disco#info of a key node.
        ("pcase", PublishOpen("pcase", " EU.SIACS.Conversations.Axolotl.DeviceList ", "current", "<nothing xmlns='urn:example:plain'/>")),
        ("odel", $"<iq type='set' id='odel'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='{DeviceList}'/></pubsub></iq>"),
        ("ocfg", $"<iq type='get' id='ocfg'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='{DeviceList}'/></pubsub></iq>"),
        ("asub", $"<iq type='set' id='asub' to='carol@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{DeviceList}' jid='alice@example.test'/></pubsub></iq>"),
        ("afetch", Fetch("afetch", "bob@example.test", DeviceList)),
        ("adisco", $"<iq type='get' id='adisco' to='bob@example.test'><query xmlns='http://jabber.org/protocol/disco#info' node='{DeviceList}'/></iq>"),
    ];

    // The same rules on both servers (issue 18): a difference is a defect in an adapter.
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task LoggedUserHasNoKeysAndGetsNoneWhileUnloggedUsersKeepEncryption(string server)
    {
        // Phase 1: alice is not logged yet (only dave is); ImLogger is not even running. She publishes a device list and
        // subscribes to bob's; bob can fetch hers.
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["dave"], null, attach: Closed, server: server);
        var (_, before) = await RunCollectingAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            Send("alice", PublishOpen("ph1-pub", DeviceList, "current", Omemo03List(11111))), ExpectRaw("alice", "ph1-pub"),
            Send("bob", PublishOpen("ph1-bob", DeviceList, "current", Omemo03List(21111))), ExpectRaw("bob", "ph1-bob"),
            Send("alice", $"<iq type='set' id='ph1-sub' to='bob@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{DeviceList}' jid='alice@example.test'/></pubsub></iq>"),
            ExpectRaw("alice", "ph1-sub"),
            Send("bob", Fetch("ph1-fetch", "alice@example.test", DeviceList)), ExpectRaw("bob", "ph1-fetch"));
        Assert.Multiple(() =>
        {
            Assert.That(Reply(before, "alice", "ph1-pub"), Does.Contain("type=\"result\""), "unlogged alice publishes her device list");
            Assert.That(Reply(before, "alice", "ph1-sub"), Does.Contain("type=\"result\""), "unlogged alice subscribes to bob's");
            Assert.That(Reply(before, "bob", "ph1-fetch"), Does.Contain("11111"), "bob fetches it (the control: the node exists)");
            if (server == "prosody") Assert.That(AliceNodes(world), Does.Contain(DeviceList), "Prosody stored her node");
        });

        // Phase 2: alice is logged from now on.
        world.WriteConfig(world.Server.ComponentPort, "1h", ["alice"], attach: server == "ejabberd" ? Closed.Replace("<attach ", "<attach server=\"ejabberd\" ", StringComparison.Ordinal) : Closed);
        var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "server-config", "--config", world.ConfigPath, "--out", Path.Combine(world.Dir, "tap"));
        Assert.That(code, Is.Zero, output);
        if (server == "prosody") await world.Prosody.ReloadAsync("Config reloaded: holding the stanzas of 1 logged user(s)", TimeSpan.FromSeconds(30));
        else
        {
            // The fixture runs ejabberd without distribution (no ejabberdctl reload_config): started again on its spool.
            await world.Server.StopAsync();
            await world.Server.StartAsync();
        }
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var steps = new List<object> { Connect("alice"), Connect("bob"), Connect("carol") };
        // Peers find nothing for alice: at her bare JID, at her full JID, in her node list.
        steps.Add(Send("bob", Fetch("bfetch-bare", "alice@example.test", DeviceList)));
        steps.Add(Send("bob", Fetch("bfetch-full", "alice@example.test/test", DeviceList)));
        steps.Add(Send("bob", Fetch("bfetch-2", "alice@example.test", "urn:xmpp:omemo:2:devices")));
        foreach (var id in new[] { "bfetch-bare", "bfetch-full", "bfetch-2" }) steps.Add(ExpectRaw("bob", id));
        foreach (var (id, xml) in AliceAttempts)
        {
            steps.Add(Send("alice", xml));
            steps.Add(ExpectRaw("alice", id));
        }
        // bob and carol, not logged, keep encryption: carol subscribes to bob's list and is notified of his new one; bob
        // fetches carol's; an OMEMO message between them is delivered. alice, subscribed since phase 1, is not notified.
        steps.Add(Send("carol", $"<iq type='set' id='csub' to='bob@example.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{DeviceList}' jid='carol@example.test'/></pubsub></iq>"));
        steps.Add(ExpectRaw("carol", "csub"));
        steps.Add(Send("bob", PublishOpen("p2-bob", DeviceList, "current", Omemo03List(22222))));
        steps.Add(ExpectRaw("bob", "p2-bob"));
        steps.Add(ExpectRaw("carol", "22222"));
        steps.Add(Send("carol", PublishOpen("cpub", DeviceList, "current", Omemo03List(33333))));
        steps.Add(ExpectRaw("carol", "cpub"));
        steps.Add(Send("bob", Fetch("bcfetch", "carol@example.test", DeviceList)));
        steps.Add(ExpectRaw("bob", "33333"));
        steps.Add(Send("bob", "<message to='carol@example.test/test' type='chat' id='enc'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='21111'>"
                              + "<key rid='33333'>a2V5</key><iv>aXY=</iv></header><payload>XBOBCAROLX</payload></encrypted></message>"));
        steps.Add(ExpectRaw("carol", "XBOBCAROLX"));
        // Hostile: bob forges notifications to alice's client himself, one with a device list, one of an OMEMO 2 node whose
        // payload says nothing encrypted (only the node names it).
        steps.Add(Send("bob", $"<message to='alice@example.test/test' type='headline' id='forged1'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='{DeviceList}'>"
                              + $"<item id='current'>{Omemo03List(55555)}</item></items></event></message>"));
        steps.Add(Send("bob", "<message to='alice@example.test' type='headline' id='forged2'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='URN:XMPP:OMEMO:2:devices'>"
                              + "<item id='current'><note xmlns='urn:example:plain'>XFORGED2X</note></item></items></event></message>"));
        // Plain messages still flow for alice; sent last, so the notification to her had its chance to arrive.
        steps.Add(Chat("alice", "bob", "CONTROL plain words"));
        steps.Add(Expect("bob", "alice", "CONTROL plain words"));
        steps.Add(Pause());
        var (_, after) = await RunCollectingAsync(world.Server, world.Dir, [.. steps]);

        var aliceSaw = Seen(after, "alice");
        Assert.Multiple(() =>
        {
            Assert.That(world.Server.Log, Does.Contain($"Deleted alice@example.test's encryption key node {DeviceList} at sign-in"));
            foreach (var id in new[] { "bfetch-bare", "bfetch-full", "bfetch-2" })
            {
                Assert.That(Reply(after, "bob", id), Does.Contain("type=\"error\""), $"{id}: bob finds no key node of alice");
                Assert.That(Reply(after, "bob", id), Does.Not.Contain("11111"), id);
            }
            if (server == "prosody")
                Assert.That(AliceNodes(world), Does.Not.Contain("axolotl").And.Not.Contain("omemo").And.Not.Contain("openpgp"), "her key node was deleted, and none created since");
            Assert.That(aliceSaw, Does.Not.Contain("bfetch-full"), "a fetch sent to alice's client never reaches it");
            foreach (var (id, _) in AliceAttempts)
            {
                var reply = Reply(after, "alice", id);
                Assert.That(reply, Does.Contain("type=\"error\""), $"{id} is refused");
                Assert.That(reply, Does.Contain("not-allowed").And.Contain("Encryption is disabled"), $"{id} says why");
            }
            Assert.That(aliceSaw, Does.Not.Contain("22222"), "bob's new device list is not notified to alice");
            Assert.That(aliceSaw, Does.Not.Contain("21111"), "nor his old one");
            Assert.That(aliceSaw, Does.Not.Contain("55555").And.Not.Contain("XFORGED2X"), "a notification bob forged is dropped too, whatever its payload");
            Assert.That(Seen(after, "carol"), Does.Contain("XBOBCAROLX"), "bob and carol, not logged, keep OMEMO between them");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var refused = world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n')).Where(l => l.Contains("encryption-disabled", StringComparison.Ordinal)).ToList();
        TestContext.Out.WriteLine(string.Join('\n', refused));
        Assert.That(refused, Has.Count.GreaterThanOrEqualTo(AliceAttempts.Length), "each blocked attempt of alice is archived as refused");
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(120_000)]
    public async Task FailOpenWithImLoggerAwayStillRefusesKeysAtOnce(string server)
    {
        // Fail-open delivers held stanzas unlogged when ImLogger is away; a key publish is the module's own refusal and
        // must not be among them. ImLogger never runs here: the answers come from the module alone, at once.
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            attach: """<attach mode="inline" failure-mode="open" timeout="2s" />""", server: server);
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            Send("alice", PublishOpen("fo-pub", DeviceList, "current", Omemo03List(66666))), ExpectRaw("alice", "fo-pub"),
            Send("bob", Fetch("fo-fetch", "alice@example.test", DeviceList)), ExpectRaw("bob", "fo-fetch"),
            Pause(3)); // past the timeout: fail-open has released what it held by now
        Assert.Multiple(() =>
        {
            Assert.That(Reply(raw, "alice", "fo-pub"), Does.Contain("not-allowed"), "refused by the module without ImLogger");
            Assert.That(Reply(raw, "bob", "fo-fetch"), Does.Contain("item-not-found"));
            if (server == "prosody") Assert.That(AliceNodes(world), Does.Not.Contain("axolotl"), "fail-open did not publish it unlogged after the timeout");
        });
    }

    /// <summary>alice's PEP nodes as Prosody stores them (its internal file storage).</summary>
    private static string AliceNodes(TapDeployment world)
    {
        var path = Path.Combine(world.Prosody.Dir, "data", "example%2etest", "pep", "alice.dat");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    private static string Seen(JsonObject raw, string who) => string.Join('\n', (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x));

    /// <summary>The stanza <paramref name="who"/> received answering iq <paramref name="id"/> ("" if none).</summary>
    private static string Reply(JsonObject raw, string who, string id) =>
        (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x ?? "").FirstOrDefault(x => x.StartsWith("<iq", StringComparison.Ordinal) && x.Contains($"id=\"{id}\"", StringComparison.Ordinal)) ?? "";
}

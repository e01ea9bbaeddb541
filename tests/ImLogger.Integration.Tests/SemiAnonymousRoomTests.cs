using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Group chats on Prosody's defaults (semi-anonymous rooms: only moderators see real JIDs), inline mode, with
/// mod_imlogger_muc loaded on the MUC component by `imlogger prosody-config` (group-chat-hosts): every occupant is archived
/// as "nick (real JID)" and told once that the room is logged, through the room, although the logged user never sees
/// their real JID. Real Prosody, real slixmpp clients, the real `imlogger` process.
/// </summary>
[TestFixture]
public class SemiAnonymousRoomTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";
    private const string Team = "team";
    // Nicks chosen to mislead a reader of the transcript: one that looks like another user's JID, one with markup.
    private const string JidLikeNick = "dave@example.test";
    private const string MarkupNick = "<b>boss</b> & co";

    private static string Escaped(string s) => System.Security.SecurityElement.Escape(s);
    private static object Presence(string who, string nick) =>
        Send(who, $"<presence to='{Room(Team)}/{Escaped(nick)}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");

    /// <summary>bob (not logged) makes the room members-only and lets alice and carol in, as an owner does with any client.</summary>
    private static object[] MembersOnly() =>
    [
        Send("bob", $"<iq type='set' to='{Room(Team)}' id='mo-config'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>"
                    + "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>"
                    + "<field var='muc#roomconfig_membersonly'><value>1</value></field></x></query></iq>"),
        ExpectRaw("bob", "mo-config"),
        // Prosody 0.12 applies the first <item> of an admin set only: one request per member, as clients send them.
        .. new[] { "alice", "carol", "dave" }.SelectMany(member => new[]
        {
            Send("bob", $"<iq type='set' to='{Room(Team)}' id='mo-member-{member}'><query xmlns='http://jabber.org/protocol/muc#admin'>"
                        + $"<item affiliation='member' jid='{Jid(member)}'/></query></iq>"),
            ExpectRaw("bob", $"mo-member-{member}"),
        }),
    ];

    private static int NoticesTo(JsonObject raw, string who) =>
        (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x ?? "").Count(x => x.StartsWith("<message", StringComparison.Ordinal) && x.Contains("imlogger-notice-", StringComparison.Ordinal));

    [TestCase(false, "prosody", TestName = "EveryOccupantOfASemiAnonymousRoomIsArchivedWithTheirRealJidAndToldOnce")]
    [TestCase(true, "prosody", TestName = "EveryOccupantOfAMembersOnlyRoomIsArchivedWithTheirRealJidAndToldOnce")]
    [TestCase(false, "ejabberd", TestName = "EveryOccupantOfASemiAnonymousRoomIsArchivedWithTheirRealJidAndToldOnceOnEjabberd")]
    [TestCase(true, "ejabberd", TestName = "EveryOccupantOfAMembersOnlyRoomIsArchivedWithTheirRealJidAndToldOnceOnEjabberd")]
    [CancelAfter(240_000)]
    public async Task EveryOccupantIsIdentifiedAndToldOnce(bool membersOnly, string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline, semiAnonymousRooms: true,
            organizationAttributes: $"group-chat-hosts=\"{ProsodyServer.Muc}\"", server: server);
        if (server == "prosody")
            Assert.That(File.ReadAllText(world.Prosody.Include!), Does.Contain($"Component \"{ProsodyServer.Muc}\" \"muc\"").And.Contain("\"imlogger_muc\""),
                "prosody-config loads the group chat module on the MUC component");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var steps = new List<object>
        {
            Connect("alice"), Connect("bob"), Connect("carol"), Connect("dave"),
            // bob creates the room: he is its owner (a moderator), alice is a plain participant who sees no real JID.
            Join("bob", Team, "bob"),
        };
        if (membersOnly) steps.AddRange(MembersOnly());
        steps.AddRange(
        [
            Join("alice", Team, "alice"),
            GroupChat("bob", Team, "hello from bob"), Expect("alice", Room(Team) + "/bob", "hello from bob"),
            ExpectRaw("bob", "imlogger-notice-"),
            // A nickname change: the same occupant, not a new one; told no second time.
            Send("bob", $"<presence to='{Room(Team)}/robert'/>"),
            GroupChat("bob", Team, "now robert"), Expect("alice", Room(Team) + "/robert", "now robert"),
            // Occupants who join after the notice went out, with misleading nicks.
            Presence("carol", JidLikeNick), ExpectRaw("carol", "imlogger-notice-"),
            Presence("dave", MarkupNick), ExpectRaw("dave", "imlogger-notice-"),
            GroupChat("carol", Team, "hi from carol"), Expect("alice", Room(Team) + "/" + JidLikeNick, "hi from carol"),
            GroupChat("dave", Team, "hi from dave"), Expect("alice", Room(Team) + "/" + MarkupNick, "hi from dave"),
            GroupChat("alice", Team, "alice answers"), Expect("bob", Room(Team) + "/alice", "alice answers"),
            Pause(1.5),
        ]);
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir, [.. steps]);

        Assert.Multiple(() =>
        {
            Assert.That(NoticesTo(raw, "bob"), Is.EqualTo(1), "bob is told once, despite his nickname change and later activity");
            Assert.That(NoticesTo(raw, "carol"), Is.EqualTo(1), "carol, who joined after the notice, is told once");
            Assert.That(NoticesTo(raw, "dave"), Is.EqualTo(1), "dave is told once");
            var toBob = (raw[Jid("bob")]?.AsArray() ?? []).Select(x => (string?)x ?? "").Single(x => x.Contains("imlogger-notice-", StringComparison.Ordinal));
            Assert.That(toBob, Does.Contain($"from=\"{Room(Team)}\"").And.Contain("groupchat"), "the notice reaches bob through the room, not from ImLogger's JID");
            Assert.That(toBob, Does.Contain("logged"), "it says the conversation is logged");
            Assert.That((raw[Jid("bob")]?.AsArray() ?? []).Select(x => (string?)x ?? "").Any(x => x.Contains("from=\"archive.example.test\"", StringComparison.Ordinal)),
                Is.False, "ImLogger never writes to a real JID the room hides");
        });

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var text = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("bob (bob@example.test)"), "the occupant whose real JID the room hides is archived with it:\n" + text);
            Assert.That(text, Does.Contain("robert (bob@example.test)"), "after the nickname change too");
            Assert.That(text, Does.Contain($"{JidLikeNick} (carol@example.test)"), "a nick that looks like a JID stands beside the real one");
            Assert.That(text, Does.Contain("(dave@example.test)"), "a nick with markup is archived with the real JID");
            Assert.That(text, Does.Contain("hello from bob").And.Contain("now robert").And.Contain("hi from carol").And.Contain("alice answers"));
            Assert.That(text, Does.Contain($"{Room(Team)}/bob (bob@example.test)"), "the transcript records the notice sent to bob through the room");
        });
    }
}

using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Hostile: in a semi-anonymous room, carol tries to take bob's nickname while bob is in the room (the room refuses it as
/// a conflict) and speaks to a room she is not in. Nothing of it may stick: bob's messages and his leave are archived with
/// bob's real JID, and carol, who never got in, is named nowhere. On ejabberd mod_imlogger_muc.erl learns real JIDs from
/// what occupants send to the room and does not take a nick another occupant holds; note that bob's own next presence or
/// message would put his JID back anyway, so this end-to-end case does not isolate that check (a role change broadcast
/// with no stanza from bob in between would). On Prosody the module asks the room itself.
/// </summary>
[TestFixture]
public class RoomNickHostileTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task ANickTakenByAnotherOccupantIsNotReassignedByAnIntruder(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline, semiAnonymousRooms: true,
            organizationAttributes: $"group-chat-hosts=\"{ProsodyServer.Muc}\"", server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await RunAsync(world.Server, world.Dir,
            Connect("bob"), Connect("alice"), Connect("carol"),
            Join("bob", "den", "bob"), Join("alice", "den", "alice"),
            // carol asks for bob's nick: the room answers with a conflict and lets her nowhere near.
            Send("carol", $"<presence to='{Room("den")}/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>"),
            ExpectRaw("carol", "conflict"),
            // and speaks to the room she is not in (refused by the room)
            GroupChat("carol", "den", "I am bob"), Pause(0.5),
            GroupChat("bob", "den", "still me"), Expect("alice", Room("den") + "/bob", "still me"),
            // bob's leave is named from what the module says alone (the room has forgotten him by then): still bob.
            Leave("bob", "den", "bob"), Pause(1.5));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var text = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("bob (bob@example.test)"), "bob keeps his real JID:\n" + text);
            Assert.That(text, Does.Not.Contain("carol@example.test"), "carol never got in: she is named nowhere");
            Assert.That(text, Does.Not.Contain("I am bob"), "the room refused her message");
        });
    }
}

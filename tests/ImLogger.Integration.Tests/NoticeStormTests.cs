using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>Notice storms (issue 14) on real Prosody with real clients: a logged occupant whose client reconnects and
/// rejoins is not new activity; the others, who stay in the room, are not told again. Before the fix the tap case told
/// the room again in one run of three (as in the issue: twice in five reconnects), depending on whose copy came first.
/// Rooms are Prosody's default, semi-anonymous: alice created the room (its owner, a moderator, whose copies name every
/// occupant); bob is a participant whose copies name nobody. In inline mode mod_imlogger_muc names every occupant on both
/// copies and hidden occupants are told through the room; in tap mode the occupants are known from alice's copies only
/// (a room with no logged moderator stays nick-only in tap mode: docs/admin-guide.md).</summary>
[TestFixture]
public class NoticeStormTests
{
    private static int Notices(JsonObject raw, string who) => NoticeReceipts.Of(raw, who).Length;

    [TestCase(null, TestName = "Tap: a logged occupant reconnecting five times does not notify the room again")]
    [TestCase("""<attach mode="inline" failure-mode="closed" timeout="5s" />""", TestName = "Inline: a logged occupant reconnecting five times does not notify the room again")]
    [CancelAfter(180_000)]
    public async Task ALoggedOccupantReconnectingFiveTimesDoesNotNotifyTheRoomAgain(string? attach)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "bob"], null, attach: attach, semiAnonymousRooms: true,
            organizationAttributes: attach == null ? null : $"group-chat-hosts=\"{ProsodyServer.Muc}\"");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        string[] stay = ["bob", "carol", "dave", "grace", "erin@partner.test", "frank@partner.test"];
        var steps = new List<object> { Connect("alice") };
        steps.AddRange(stay.Select(u => Connect(u)));
        steps.Add(Join("alice", "storm", "alice"));
        foreach (var u in stay) steps.AddRange([Pause(0.2), Join(u, "storm", u.Split('@')[0])]);
        steps.AddRange([GroupChat("carol", "storm", "hello all"), Expect("bob", Room("storm") + "/carol", "hello all"), Pause(0.5)]);
        for (var round = 0; round < 5; round++)
            steps.AddRange([Disconnect("alice"), Pause(0.3), Connect("alice", $"r{round}"), Join("alice", "storm", "alice"), Pause(0.3)]);
        steps.AddRange([GroupChat("alice", "storm", "back"), Expect("frank@partner.test", Room("storm") + "/alice", "back"), Pause(1.5)]);

        var (_, raw) = await RunCollectingAsync(world.Prosody, world.Dir, [.. steps]);

        Assert.Multiple(() =>
        {
            foreach (var u in stay)
                Assert.That(Notices(raw, u), Is.EqualTo(1), $"{u} is told once, at their join, and never again for alice's reconnects");
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }
}

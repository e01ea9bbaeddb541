using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Ends and sizes (issue 17) on real Prosody with real slixmpp clients and the real imlogger process, inline mode:
/// a file shared the way most clients share files (XEP-0363 slot from Prosody's mod_http_file_share, the bytes PUT over
/// HTTP, the link sent with XEP-0066) is archived with the size the logged user asked the slot for; a group call in a
/// room (XEP-0482) ends when the room empties of the call, also when nobody sends &lt;left&gt; (docs/events.md).
/// </summary>
[TestFixture]
public class ShareAndGroupCallTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";

    private static object ShareUpload(string who, string to, string filename, string content, string type, int httpPort) =>
        new { @as = Jid(who), @do = "share_upload", service = ProsodyServer.Upload, filename, content, type, to = Jid(to), http_port = httpPort };

    [Test, CancelAfter(180_000)]
    public async Task AFileSharedByHttpUploadIsArchivedWithItsSize()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline);
        await world.Prosody.StopAsync();
        world.Prosody.UseHttpUpload();
        await world.Prosody.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var content = new string('x', 2048);
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir,
            Connect("alice"), Connect("bob"),
            ShareUpload("alice", "bob", "minutes.txt", content, "text/plain", world.Prosody.HttpPort!.Value),
            ExpectRaw("bob", "jabber:x:oob"), Pause(1));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var shared = (raw[Jid("bob")]?.AsArray() ?? []).Select(x => (string?)x ?? "").Single(x => x.Contains("jabber:x:oob", StringComparison.Ordinal));
        var text = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        var line = text.ReplaceLineEndings("\n").Split('\n').SingleOrDefault(l => l.Contains("shared", StringComparison.Ordinal) && l.Contains("minutes.txt", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(shared, Does.Contain("/minutes.txt"), "bob got the link");
            Assert.That(line, Is.Not.Null, "the share is archived:\n" + text);
            Assert.That(line, Does.Contain("2,048 bytes"), "with the size alice asked the slot for");
        });
    }

    private static object Call(string who, string action) =>
        Send(who, $"<message to='{Room("standup")}' type='groupchat' id='{Guid.NewGuid():N}'><{action} xmlns='urn:xmpp:call-invites:0' id='inv1'/></message>");

    [Test, CancelAfter(180_000)]
    public async Task AGroupCallEndsWhenItsLastParticipantLeavesTheRoomWithoutSayingLeft()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null, attach: Inline, semiAnonymousRooms: true,
            organizationAttributes: $"group-chat-hosts=\"{ProsodyServer.Muc}\"");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await RunAsync(world.Server, world.Dir,
            Connect("bob"), Connect("alice"), Connect("carol"),
            Join("bob", "standup", "bob"), Join("alice", "standup", "alice"), Join("carol", "standup", "carol"),
            Send("alice", $"<message to='{Room("standup")}' type='groupchat' id='inv1'><invite xmlns='urn:xmpp:call-invites:0'><jingle sid='s1'/></invite></message>"),
            ExpectRaw("bob", "call-invites"),
            Call("bob", "accept"), ExpectRaw("alice", "<accept"),
            Call("carol", "accept"), Pause(0.5),
            Call("alice", "left"), Pause(0.5),
            // Neither says <left>: bob leaves the room, carol's client goes away.
            Leave("bob", "standup", "bob"), Pause(0.5),
            Disconnect("carol"), Pause(1.5));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").ReplaceLineEndings("\n").Split('\n')).ToList();
        var text = string.Join("\n", lines);
        var ends = lines.Where(l => l.Contains("inv1", StringComparison.Ordinal) && l.Contains("ended", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ends, Has.Count.EqualTo(1), "the call ends once, when the room empties of it:\n" + text);
            Assert.That(ends.FirstOrDefault(), Does.Contain("(left)").And.Contain(" after "), "with its duration from the first accept");
            var carolLeft = lines.FindIndex(l => l.Contains("carol", StringComparison.Ordinal) && l.Contains("left the room", StringComparison.Ordinal));
            Assert.That(carolLeft, Is.GreaterThanOrEqualTo(0).And.LessThan(lines.FindIndex(l => ends.Contains(l))), "the end follows the last participant's leave");
        });
    }
}

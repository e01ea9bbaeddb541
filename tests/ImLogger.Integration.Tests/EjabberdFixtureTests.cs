using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>The ejabberd fixture itself: Debian's ejabberd starts on loopback in a temp dir, its accounts sign in and
/// chat with the same slixmpp clients as on Prosody, with nothing of ImLogger in between.</summary>
[TestFixture]
public class EjabberdFixtureTests
{
    [Test, CancelAfter(120_000)]
    public async Task UsersRegisteredAtStartChatOverLoopback()
    {
        var dir = Paths.TempDir("imlogger-ej-");
        await using (var server = EjabberdServer.Prepare(dir, null, "alice", "bob", "erin@partner.test"))
        {
            await server.StartAsync();
            var received = await RunAsync(server, dir,
                Connect("alice"), Connect("bob"), Connect("erin@partner.test"),
                Chat("alice", "bob", "hello over ejabberd"), Expect("bob", "alice", "hello over ejabberd"),
                Join("alice", "team", "alice"), Join("erin@partner.test", "team", "erin"),
                GroupChat("erin@partner.test", "team", "hi room"), Expect("alice", Room("team") + "/erin", "hi room"));
            Assert.That(received[Jid("bob")]!.AsArray().Any(m => (string?)m!["body"] == "hello over ejabberd"));
        }
        Directory.Delete(dir, recursive: true);
    }
}

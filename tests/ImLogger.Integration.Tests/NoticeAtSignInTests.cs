using System.Xml.Linq;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A logged user whose client writes in the same breath as it signs in (a queued message sent with the initial presence,
/// as mobile clients do after a reconnect) is told live that the conversation is logged. The server's module holds the
/// presence and the message in one verdict request; ImLogger answers, then sends the notice to the user's bare JID. On
/// ejabberd the released presence is handed back to the session's process while the notice was routed at once, so the
/// notice could find the user not yet available and go to offline storage, shown late or never (the flaky
/// NoticeBounceTests case); mod_imlogger_inline now routes a component's message to a logged user only once her sessions
/// have processed what was released before it. Prosody releases and routes in one thread, in order. Real clients,
/// several users at once to give the race every chance.
/// </summary>
[TestFixture]
public class NoticeAtSignInTests
{
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";
    private static readonly string[] Servers = ["prosody", "ejabberd"];
    private static readonly string[] Users = ["alice", "bob", "carol", "dave", "grace", "henry", "ivan", "judy"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task AUserWhoWritesWithHerInitialPresence_IsToldLive_NotThroughOfflineStorage(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, Users, null, attach: Inline, server: server,
            moreAccounts: ["henry", "ivan", "judy"]);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        // The initial presence and the first message in one write: one read on the server, one verdict request.
        var steps = new List<object>();
        foreach (var user in Users)
            steps.Add(new
            {
                @as = Jid(user), @do = "connect", resource = "phone",
                presence = $"<presence/><message type='chat' to='frank@partner.test' id='queued-{user}'><body>sent while signing in</body></message>",
            });
        steps.AddRange(Users.Select(u => ExpectRaw(u, "imlogger-notice-")));
        steps.Add(Pause(1));
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir, [.. steps]);

        Assert.Multiple(() =>
        {
            foreach (var user in Users)
            {
                var notices = (raw[Jid(user)]?.AsArray() ?? []).Select(x => (string?)x ?? "")
                    .Where(x => x.StartsWith("<message", StringComparison.Ordinal) && x.Contains("imlogger-notice-", StringComparison.Ordinal))
                    .Select(XElement.Parse).Where(m => (string?)m.Attribute("type") != "error").ToList();
                Assert.That(notices, Has.Count.EqualTo(1), $"{user} was told once");
                // urn:xmpp:delay marks what the server kept in offline storage and sent on a later presence.
                Assert.That(notices.SelectMany(m => m.Elements()).Where(e => e.Name.LocalName == "delay"), Is.Empty,
                    $"{user} was told live, not from offline storage:\n{string.Join("\n", notices)}");
            }
        });
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }
}

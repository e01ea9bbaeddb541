using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Issue 19, transcripts a compliance officer can sort: on real Prosody, a client that sends an XEP-0172 nickname with its
/// messages is named by it in the delivered transcript's From/To ("Bob Builder &lt;bob@example.test&gt;"), the latest one
/// a person gave; a nickname bob puts in a forwarded stanza to name alice does not name her (hostile header text in
/// nicknames is covered by TranscriptDisplayNameTests).
/// </summary>
[TestFixture]
public class NicknameDisplayNameTests
{
    private const string Nick = "http://jabber.org/protocol/nick";

    [Test, CancelAfter(180_000)]
    public async Task TheDeliveredTranscriptNamesEachPersonByTheNicknameTheyGave()
    {
        await using var world = await TapDeployment.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Send("bob", $"<message to='alice@example.test' type='chat'><body>first from bob</body><nick xmlns='{Nick}'>Bob</nick></message>"),
            Expect("alice", "bob", "first from bob"),
            Send("alice", $"<message to='bob@example.test' type='chat'><body>hi bob</body><nick xmlns='{Nick}'>Alice Liddell</nick></message>"),
            Expect("bob", "alice", "hi bob"),
            // bob's forwarded quote carries a nickname for alice: his claim about her, not hers.
            Send("bob", $"<message to='alice@example.test' type='chat'><body>quoting you</body><nick xmlns='{Nick}'>Bob Builder</nick>"
                        + $"<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='alice@example.test'><body>x</body><nick xmlns='{Nick}'>Alice the Fool</nick></message></forwarded></message>"),
            Expect("alice", "bob", "quoting you"));
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 3);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, "graceful stop delivers the transcript");

        var chat = world.Archived().Single(m => m.Headers["X-ImLogger-Conversation"] == "alice@example.test bob@example.test");
        Assert.Multiple(() =>
        {
            Assert.That(chat.From.Mailboxes.Select(a => (a.Name, a.Address)), Is.EqualTo(new[] { ("Bob Builder", "bob@example.test") }),
                "the first sender, by the latest nickname he gave");
            Assert.That(chat.To.Mailboxes.Select(a => (a.Name, a.Address)), Is.EqualTo(new[] { ("Alice Liddell", "alice@example.test") }),
                "alice by her own nickname, not the one bob's quote gave her");
        });
    }
}

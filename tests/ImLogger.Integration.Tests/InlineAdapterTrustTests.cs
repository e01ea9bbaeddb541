using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>Only the component speaks for ImLogger: a user who addresses the adapter as if they were the component is
/// refused by the server, on Prosody and on ejabberd alike.</summary>
[TestFixture]
public class InlineAdapterTrustTests
{
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    // seats-changed makes the adapter hold again every user ImLogger had left unlogged: from a user it would undo
    // ImLogger's seat decisions at will. The adapter believes it only from the component's JID.
    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task AUsersSeatsChangedIsRefusedAndChangesNothing(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            attach: """<attach mode="inline" failure-mode="closed" timeout="5s" />""", server: server);
        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir,
            Connect("bob"),
            Send("bob", "<iq type='set' to='example.test' id='forged-seats'><seats-changed xmlns='urn:imlogger:inline:0'/></iq>"),
            ExpectRaw("bob", "forged-seats"),
            Pause(0.5));

        var answer = raw[Jid("bob")]!.AsArray().Select(x => (string)x!).Single(x => x.Contains("forged-seats", StringComparison.Ordinal));
        Assert.That(answer, Does.Contain("type=\"error\""), "the server refuses it: nobody but the component answers for ImLogger");
        Assert.That(world.Server.Log, Does.Not.Contain("seats changed"));
    }
}

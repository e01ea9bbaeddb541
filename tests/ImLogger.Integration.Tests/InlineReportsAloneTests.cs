using System.Diagnostics;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Issue 16, on Prosody and ejabberd alike: a request the server's module refused because ImLogger's verdict came too
/// late is reported to ImLogger in a request of its own when no other stanza waits, so the archive says the message
/// recorded in it was NOT DELIVERED even though no message follows. ImLogger is stopped with SIGSTOP (connected, not
/// answering), so the request waits unread in its socket, the module refuses it at the timeout and reports the refusal
/// at once; on SIGCONT ImLogger reads the request, stores it, then reads the report and marks what it stored.
/// </summary>
[TestFixture]
public class InlineReportsAloneTests
{
    private static readonly string[] Servers = ["prosody", "ejabberd"];

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task ARequestRefusedForItsLateVerdictIsMarkedNotDeliveredThoughNoMessageFollows(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            attach: """<attach mode="inline" failure-mode="closed" timeout="3s" />""", server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var bob = await RawXmppClient.LoginAsync(world.Server, "bob");
        await using var alice = await RawXmppClient.LoginAsync(world.Server, "alice");
        await alice.ChatAsync("bob@example.test", "drill-1");
        await WaitUntilAsync(() => bob.ReceivedDrillBodies.Contains("drill-1"), "drill-1 delivered while ImLogger answers");

        imlogger.Suspend();
        try
        {
            await alice.ChatAsync("bob@example.test", "drill-2");
            await world.Server.WaitForLogAsync("held stanza(s) refused (fail-closed)", TimeSpan.FromSeconds(30));
        }
        finally
        {
            imlogger.Resume();
        }
        // Nothing else is sent: only a request of reports alone can tell ImLogger.
        await imlogger.WaitForLineAsync(l => l.Contains("are now marked NOT DELIVERED", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
            "the refusal reported in a request of its own");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var lines = world.Archived().SelectMany(m => (m.TextBody ?? "").Split('\n')).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(bob.ReceivedDrillBodies, Does.Not.Contain("drill-2"), "the refused message never reached bob");
            Assert.That(alice.ErrorMessages, Is.GreaterThanOrEqualTo(1), "alice was told hers was not sent");
            Assert.That(lines.Count(l => l.Contains("drill-2", StringComparison.Ordinal) && l.Contains("REFUSED, not delivered", StringComparison.Ordinal)), Is.EqualTo(1),
                "the archive marks drill-2 NOT DELIVERED, once:\n" + string.Join('\n', lines));
            Assert.That(lines.Any(l => l.Contains("drill-1", StringComparison.Ordinal) && !l.Contains("REFUSED", StringComparison.Ordinal)), "drill-1 archived as delivered");
        });
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail($"not within 30 s: {what}");
            await Task.Delay(100);
        }
    }
}

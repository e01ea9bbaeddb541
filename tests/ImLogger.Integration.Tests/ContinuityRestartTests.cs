using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A restart of ImLogger in the middle of a call (issue 17): calls in progress and notices sent are kept in the spool, so
/// the call's end after the restart has its true duration and nobody is told again within the hour. Real Prosody, real
/// slixmpp clients, the real imlogger process stopped with SIGTERM (a restart) or kill -9 (a crash).
/// </summary>
[TestFixture]
public class ContinuityRestartTests
{
    private const string Component = "archive.example.test";

    private static int Notices(JsonObject received, string who) =>
        (received[Jid(who)]?.AsArray() ?? []).Count(m => (string?)m!["from"] == Component);

    private static string Jmi(string to, string action, string sid, string inner = "") =>
        $"<message to='{to}' type='chat' id='{Guid.NewGuid():N}'><{action} xmlns='urn:xmpp:jingle-message:0' id='{sid}'>{inner}</{action}></message>";

    [TestCase(false), TestCase(true), CancelAfter(180_000)]
    public async Task ACallAcrossARestartKeepsItsDurationAndNobodyIsToldTwice(bool crash)
    {
        await using var world = await TapDeployment.StartAsync();
        var first = world.RunImLogger("imlogger-1");
        await ImLoggerProcess.WaitConnectedAsync(first);

        // The call starts and is answered; both sides are told the conversation is logged.
        var before = await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Send("alice", Jmi(Jid("bob"), "propose", "call-r1", "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>")),
            ExpectRaw("bob", "call-r1"),
            Send("bob", Jmi(Jid("alice") + "/test", "proceed", "call-r1")),
            ExpectRaw("alice", "proceed"),
            ExpectRaw("bob", "imlogger-notice"), ExpectRaw("alice", "imlogger-notice"),
            Pause(0.5));
        await ImLoggerProcess.WaitSpooledAsync(first, 3); // propose, notice, proceed: the call's state is kept with them
        var stoppedAt = DateTime.UtcNow;
        if (crash) first.KillHard();
        else Assert.That(await first.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        await first.DisposeAsync();

        await using var second = world.RunImLogger("imlogger-2");
        await ImLoggerProcess.WaitConnectedAsync(second);
        // The answer came before the stop and the end comes after this: the call lasted at least this long.
        var restartSeconds = (DateTime.UtcNow - stoppedAt).TotalSeconds;
        var after = await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", "still talking"), Expect("bob", "alice", "still talking"),
            // Hostile: an end for a call that never started.
            Send("bob", Jmi(Jid("alice") + "/test", "finish", "never-started", "<reason xmlns='urn:xmpp:jingle:1'><success/></reason>")),
            Send("bob", Jmi(Jid("alice") + "/test", "finish", "call-r1", "<reason xmlns='urn:xmpp:jingle:1'><success/></reason>")),
            ExpectRaw("alice", "call-r1"),
            Pause(1.5));
        await ImLoggerProcess.WaitSpooledAsync(second, 3);
        Assert.That(await second.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var text = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        var end = text.ReplaceLineEndings("\n").Split('\n').SingleOrDefault(l => l.Contains("call-r1", StringComparison.Ordinal) && l.Contains("ended", StringComparison.OrdinalIgnoreCase));
        var forged = text.ReplaceLineEndings("\n").Split('\n').SingleOrDefault(l => l.Contains("never-started", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"{end}\n{forged}\nstop to reconnect {restartSeconds:0.0} s");
        Assert.Multiple(() =>
        {
            Assert.That(Notices(before, "alice") + Notices(after, "alice"), Is.EqualTo(1), "alice told once");
            Assert.That(Notices(before, "bob") + Notices(after, "bob"), Is.EqualTo(1), "bob told once");
            Assert.That(end, Is.Not.Null.And.Contains(" after "), text);
            // The call lasted at least from before the stop to after the restart: its start came through the restart.
            var seconds = Regex.Match(end ?? "", @" after (?:(\d+) min )?(\d+) s") is { Success: true } m
                ? (m.Groups[1].Success ? int.Parse(m.Groups[1].Value) * 60 : 0) + int.Parse(m.Groups[2].Value) : -1;
            Assert.That(seconds, Is.GreaterThanOrEqualTo((int)restartSeconds - 1), end);
            Assert.That(forged, Is.Not.Null.And.Contains("no duration"), "a forged end invents no duration");
        });
    }
}

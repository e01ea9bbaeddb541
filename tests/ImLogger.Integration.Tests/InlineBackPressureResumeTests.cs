using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Back-pressure while ImLogger answers: a logged user's session paused past max_held must read again, all of it, once
/// the verdicts bring it down, even when the client has sent everything and sends nothing more. Found by the scale
/// bench: on Prosody 0.12 a session paused while a read had left bytes in the socket's user-space buffer (LuaSocket's,
/// or a TLS record's remainder) was resumed with <c>conn:resume()</c>, which only asks epoll for the next readable event;
/// no new bytes ever came, so the last messages of a flat-out sender sat in Prosody's buffer, neither delivered nor
/// refused nor archived, until the client sent something else (7 senders of 8 stuck with 21 messages each).
/// max_held is set to 2 here so that a session is paused and resumed on nearly every read.
/// </summary>
[TestFixture]
public partial class InlineBackPressureResumeTests
{
    private const int Rounds = 4;
    private const int PerRound = 45; // one write of about 7 KB: more than Prosody reads at once (4 KB), less than LuaSocket buffers (8 KB)
    private const int Messages = Rounds * PerRound;

    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private const string OtherScripts = "Привет, 日本語の😀 ";

    [TestCaseSource(nameof(Servers)), CancelAfter(150_000)]
    public async Task ASessionPausedAtMaxHeldReadsItsLastMessagesThoughTheClientThenSendsNothing(string server)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="60s" />""",
            server: server, beforeStart: SetMaxHeld);
        await using var imlogger = world.RunImLogger(logLevel: "Info");
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Server, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Server, "bob");

        for (var round = 0; round < Rounds; round++)
        {
            // One write, then nothing (no ping, no presence): what alice sent must arrive on its own. Every other round in
            // other scripts (two-, three- and four-byte UTF-8), so that reads end inside a character too.
            var filler = round % 2 == 0 ? new string('x', 70) : string.Concat(Enumerable.Repeat(OtherScripts, 2));
            await alice.SendRawAsync(string.Concat(Enumerable.Range(round * PerRound, PerRound)
                .Select(k => $"<message to='bob@example.test/raw' type='chat' id='bp{k}'><body>drill-{k} {filler}</body></message>")));
            var expected = (round + 1) * PerRound;
            await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= expected, TimeSpan.FromSeconds(20),
                () => $"round {round + 1}: {bob.DrillBodyCounts.Count} of {expected} messages delivered; the first missing is drill-"
                    + Enumerable.Range(0, expected).First(k => !bob.DrillBodyCounts.ContainsKey($"drill-{k}")));
        }
        await Task.Delay(300); // a message delivered twice would come now
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, imlogger.Output);

        var archived = world.Archived().SelectMany(m => DrillBody().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(world.Server.Log, Does.Contain("Paused reading from alice@example.test"),
                "the session was paused (max_held 2): otherwise this test shows nothing");
            Assert.That(InlineRestartDrillTests.RefusedLine().Matches(world.Server.Log), Is.Empty, "nothing refused");
            Assert.That(alice.ErrorMessages, Is.Zero, "alice received no error");
            Assert.That(bob.DrillBodyCounts.Where(d => d.Value != 1).Select(d => d.Key), Is.Empty, "each message delivered once");
            Assert.That(archived.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "each message archived once");
            Assert.That(archived.Distinct().Count(), Is.EqualTo(Messages), "every message archived");
            Assert.That(world.Archived().Sum(m => Regex.Matches(m.TextBody ?? "", Regex.Escape(OtherScripts.Trim())).Count),
                Is.EqualTo(Rounds / 2 * PerRound * 2), "the other scripts' text archived intact, twice in each of its messages");
        });
    }

    /// <summary>max_held 2 in the module options server-config wrote.</summary>
    private static void SetMaxHeld(IXmppServer server)
    {
        if (server is ProsodyServer prosody)
        {
            var include = prosody.Include!;
            File.WriteAllText(include, Regex.Replace(File.ReadAllText(include), @"(\timlogger_timeout = [^\n]*\n)", "$1\timlogger_max_held = 2\n"));
        }
        else if (server is EjabberdServer ejabberd)
        {
            var include = ejabberd.Include!;
            File.WriteAllText(include, Regex.Replace(File.ReadAllText(include), @"(\n(\s+)timeout: [^\n]*\n)", "$1$2max_held: 2\n"));
        }
    }

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex DrillBody();
}

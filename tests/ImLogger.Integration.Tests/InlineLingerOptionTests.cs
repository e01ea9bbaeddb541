using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The operator's <c>imlogger_linger</c> (seconds a held stanza waits for others to share its request), attacked as a
/// careless operator writes it. Prosody's get_option_number gives nil for a value that is not a number ("10ms"); the
/// module armed its linger timer with that nil after queuing the stanza, so the stanza stayed held, unrouted and
/// unanswered, until a full batch of 100 took it. The module now refuses such a value at error level, says what to
/// write, and uses the default.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)]
public partial class InlineLingerOptionTests
{
    /// <summary>Real Prosody and imlogger, the linger written with its unit: every message delivered and archived once.</summary>
    [Test, CancelAfter(120_000)]
    public async Task ALingerThatIsNotANumberStillDeliversAndArchivesEveryMessageAndSaysWhatToWrite()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="5s" />""",
            beforeStart: server => SetLinger((ProsodyServer)server, "\"10ms\""));
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        const int count = 3;
        for (var i = 0; i < count; i++)
            await alice.ChatAsync("bob", $"drill-{i} said with a linger of 10ms");
        // Far beyond the 5 s timeout: before the fix nothing came, and alice was told nothing either.
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= count, TimeSpan.FromSeconds(30),
            () => $"bob received {bob.DrillBodyCounts.Count} of {count}; alice got {alice.ErrorMessages} error(s); Prosody's log:\n{world.Prosody.Log}");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var archived = world.Archived().SelectMany(m => Drill().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(alice.ErrorMessages, Is.Zero, "nothing refused");
            Assert.That(bob.DrillBodyCounts.Values, Is.All.EqualTo(1), "delivered once");
            Assert.That(archived.Distinct().Count(), Is.EqualTo(count), "each archived");
            Assert.That(archived, Has.Count.EqualTo(count), "once");
            Assert.That(world.Prosody.Log, Does.Contain("imlogger_linger = 10ms is not a number of seconds").And.Contain("0.010"),
                "the operator is told what is wrong and what to write");
        });
    }

    /// <summary>
    /// The check itself, by lua5.4 running the shipped module's <c>checked_linger</c>: what a careless operator writes
    /// (its unit, milliseconds meant as seconds, a negative, not-a-number, infinity, a value at the timeout) falls back to the
    /// default with a reason; what is valid (0, a number, a number written as a string) is kept as is, without one.
    /// </summary>
    [Test, CancelAfter(60_000)]
    public async Task TheLingerCheckKeepsValidValuesAndRefusesTheRestWithAReason()
    {
        var module = await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "integrations", "prosody", "mod_imlogger_inline.lua"));
        var code = CheckedLinger().Match(module);
        Assert.That(code.Success, Is.True, "checked_linger not found in mod_imlogger_inline.lua: update this test with the module");
        var dir = Paths.TempDir("imlogger-linger-");
        try
        {
            var lua = Path.Combine(dir, "linger.lua");
            await File.WriteAllTextAsync(lua, code.Value + "\n" + Harness);
            await using var run = ProcessRunner.Start("lua", "/usr/bin/lua5.4", [lua]);
            Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(50)), Is.Zero, run.Output);
            Assert.That(run.Output, Does.Contain("checked 13 values"), run.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const string Harness = """
        local cases = {
          -- value, expected linger, refused?
          { nil, 0.010, false }, { 0, 0, false }, { 0.02, 0.02, false }, { "0.005", 0.005, false }, { 9.5, 9.5, false },
          { "10ms", 0.010, true }, { "ten", 0.010, true }, { 10, 0.010, true }, { 11, 0.010, true }, { -0.01, 0.010, true },
          { 0/0, 0.010, true }, { math.huge, 0.010, true }, { "", 0.010, true },
        };
        for i, c in ipairs(cases) do
          local got, problem = checked_linger(c[1], 0.010, 10);
          assert(got == c[2], ("case %d (%s): linger %s, expected %s"):format(i, tostring(c[1]), tostring(got), tostring(c[2])));
          assert((problem ~= nil) == c[3], ("case %d (%s): reason %s"):format(i, tostring(c[1]), tostring(problem)));
          if problem then assert(problem:find("seconds", 1, true) and problem:find("0.010", 1, true), problem); end
        end
        print(("checked %d values"):format(#cases));
        """;

    /// <summary>Adds <c>imlogger_linger = value</c> after the timeout in the snippet `imlogger server-config` wrote.</summary>
    private static void SetLinger(ProsodyServer server, string value)
    {
        var snippet = server.Include!;
        var lua = File.ReadAllText(snippet);
        var changed = TimeoutLine().Replace(lua, $"$1\timlogger_linger = {value}\n", 1);
        Assert.That(changed, Is.Not.EqualTo(lua), "imlogger_timeout not found in the snippet: update this test");
        File.WriteAllText(snippet, changed);
    }

    [GeneratedRegex(@"(\timlogger_timeout = [^\n]*\n)")]
    private static partial Regex TimeoutLine();

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex Drill();

    [GeneratedRegex(@"local function checked_linger\(value, default, timeout_s\)\n.*?\n\treturn n;\nend", RegexOptions.Singleline)]
    private static partial Regex CheckedLinger();
}

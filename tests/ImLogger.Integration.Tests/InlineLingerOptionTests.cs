using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The operator's <c>imlogger_linger</c> (seconds a held stanza waits for others to share its request) and the other
/// numbers written by hand, attacked as a careless operator writes them. Prosody's get_option_number gives nil for a
/// value that is not a number ("10ms"); the module armed its linger timer with that nil after queuing the stanza, so the
/// stanza stayed held, unrouted and unanswered, until a full batch of 100 took it (a batch size, a timeout or a number
/// of requests in flight that is not a number failed the same way, further on). The module now refuses such a value at
/// error level, says what to write, and uses the default.
/// </summary>
[TestFixture, Parallelizable(ParallelScope.All)]
public partial class InlineLingerOptionTests
{
    /// <summary>Real Prosody and imlogger, the linger written with its unit (and the timeout, the batch size, the requests in
    /// flight, the heartbeat not numbers, or out of range; a heartbeat that is not a number failed the module's load, and
    /// the server ran without it, nothing held): every message delivered and archived once, each value named in the log.</summary>
    [Test, CancelAfter(120_000)]
    public async Task ALingerThatIsNotANumberStillDeliversAndArchivesEveryMessageAndSaysWhatToWrite()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="5s" />""",
            beforeStart: server => Misconfigure((ProsodyServer)server));
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
            Assert.That(world.Prosody.Log, Does.Contain("imlogger_linger = 10ms is not a number of seconds").And.Contain("10 ms is 0.010"),
                "the operator is told what is wrong and what to write");
            Assert.That(world.Prosody.Log, Does.Contain("imlogger_timeout = 5s is not a number of seconds, more than 0: using 10 instead")
                .And.Contain("imlogger_batch_size = a hundred is not a number").And.Contain("imlogger_max_in_flight = 0 is not a number")
                .And.Contain("imlogger_max_held = -1 is not a number").And.Contain("imlogger_heartbeat = 30s is not a number")
                .And.Contain("imlogger_unlogged_ttl = 5m is not a number").And.Contain("imlogger_max_batch_bytes = 1MB is not a number of bytes"));
        });
    }

    /// <summary>
    /// Real ejabberd and imlogger: <c>linger: 20000</c> (milliseconds, not below the 5 s timeout: each stanza would wait 20 s
    /// for company, then get the one second a late request gets) is refused at load with what to write and the default used;
    /// <c>linger: 0</c> (the mailbox-only batching before the linger, a branch of its own) is kept. Either way every message is
    /// delivered and archived once.
    /// </summary>
    [TestCase("20000", true), TestCase("0", false), CancelAfter(180_000)]
    public async Task EjabberdLingerNotBelowTheTimeoutIsRefusedAtLoad_ZeroIsKept(string linger, bool refused)
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="5s" />""",
            server: "ejabberd", beforeStart: server => SetEjabberdLinger((EjabberdServer)server, linger));
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await using var alice = await RawXmppClient.LoginAsync(world.Server, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Server, "bob");
        const int count = 3;
        for (var i = 0; i < count; i++)
            await alice.ChatAsync("bob", $"drill-{i} with linger {linger}");
        // Less than the 20 s each would have waited for company before the check.
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= count, TimeSpan.FromSeconds(15),
            () => $"bob received {bob.DrillBodyCounts.Count} of {count}; alice got {alice.ErrorMessages} error(s)");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var archived = world.Archived().SelectMany(m => Drill().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();
        var log = ((EjabberdServer)world.Server).Log;
        Assert.Multiple(() =>
        {
            Assert.That(alice.ErrorMessages, Is.Zero, "nothing refused");
            Assert.That(bob.DrillBodyCounts.Values, Is.All.EqualTo(1), "delivered once");
            Assert.That(archived, Has.Count.EqualTo(count).And.Unique, "each archived once");
            Assert.That(log.Contains("linger: 20000 is not a number of milliseconds below timeout (5 s): using 20 instead", StringComparison.Ordinal),
                Is.EqualTo(refused), "the operator is told what is wrong and what to write (only when it is wrong)");
        });
    }

    /// <summary>
    /// The check itself, by lua5.4 running the shipped module's <c>checked_number</c>: what a careless operator writes
    /// (a unit, milliseconds meant as seconds, a negative, not-a-number, infinity, a linger at the timeout, a zero batch or
    /// none in flight) falls back to the default with a reason naming the option, the value and what to write; what is
    /// valid (0, a number, a number written as a string) is kept as is, without one.
    /// </summary>
    [Test, CancelAfter(60_000)]
    public async Task TheLingerCheckKeepsValidValuesAndRefusesTheRestWithAReason()
    {
        var module = await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "integrations", "prosody", "mod_imlogger_inline.lua"));
        var code = CheckedNumber().Match(module);
        Assert.That(code.Success, Is.True, "checked_number not found in mod_imlogger_inline.lua: update this test with the module");
        var dir = Paths.TempDir("imlogger-linger-");
        try
        {
            var lua = Path.Combine(dir, "linger.lua");
            await File.WriteAllTextAsync(lua, code.Value + "\n" + Harness);
            await using var run = ProcessRunner.Start("lua", "/usr/bin/lua5.4", [lua]);
            Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(50)), Is.Zero, run.Output);
            Assert.That(run.Output, Does.Contain("checked 20 values"), run.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const string Harness = """
        local what = "seconds, from 0 to below imlogger_timeout (10 s): 10 ms is 0.010";
        local cases = {
          -- name, value, default, min, below, expected, refused?
          { "imlogger_linger", nil, 0.010, 0, 10, 0.010, false }, { "imlogger_linger", 0, 0.010, 0, 10, 0, false },
          { "imlogger_linger", 0.02, 0.010, 0, 10, 0.02, false }, { "imlogger_linger", "0.005", 0.010, 0, 10, 0.005, false },
          { "imlogger_linger", 9.5, 0.010, 0, 10, 9.5, false },
          { "imlogger_linger", "10ms", 0.010, 0, 10, 0.010, true }, { "imlogger_linger", "ten", 0.010, 0, 10, 0.010, true },
          { "imlogger_linger", 10, 0.010, 0, 10, 0.010, true }, { "imlogger_linger", 11, 0.010, 0, 10, 0.010, true },
          { "imlogger_linger", -0.01, 0.010, 0, 10, 0.010, true }, { "imlogger_linger", 0/0, 0.010, 0, 10, 0.010, true },
          { "imlogger_linger", math.huge, 0.010, 0, 10, 0.010, true }, { "imlogger_linger", "", 0.010, 0, 10, 0.010, true },
          { "imlogger_timeout", 7.5, 10, 0.001, nil, 7.5, false }, { "imlogger_timeout", 0, 10, 0.001, nil, 10, true },
          { "imlogger_timeout", "5s", 10, 0.001, nil, 10, true }, { "imlogger_batch_size", 1, 100, 1, nil, 1, false },
          { "imlogger_batch_size", 0, 100, 1, nil, 100, true }, { "imlogger_max_in_flight", 0, 4, 1, nil, 4, true },
          { "imlogger_max_in_flight", 1e9, 4, 1, nil, 1e9, false },
        };
        for i, c in ipairs(cases) do
          local got, problem = checked_number(c[1], c[2], c[3], c[4], c[5], what);
          assert(got == c[6], ("case %d (%s = %s): got %s, expected %s"):format(i, c[1], tostring(c[2]), tostring(got), tostring(c[6])));
          assert((problem ~= nil) == c[7], ("case %d (%s = %s): reason %s"):format(i, c[1], tostring(c[2]), tostring(problem)));
          if problem then
            assert(problem:find(c[1].." = "..tostring(c[2]), 1, true) and problem:find(what, 1, true)
              and problem:find("using "..tostring(c[3]).." instead", 1, true), problem);
          end
        end
        print(("checked %d values"):format(#cases));
        """;

    /// <summary>What a careless operator adds to the snippet `imlogger server-config` wrote: units, words, a zero, a
    /// negative, and the timeout rewritten with its unit.</summary>
    private static void Misconfigure(ProsodyServer server)
    {
        var snippet = server.Include!;
        var lua = File.ReadAllText(snippet);
        var changed = TimeoutLine().Replace(lua,
            "\timlogger_timeout = \"5s\"\n\timlogger_linger = \"10ms\"\n\timlogger_batch_size = \"a hundred\"\n\timlogger_max_in_flight = 0\n\timlogger_max_held = -1\n\timlogger_unlogged_ttl = \"5m\"\n", 1);
        changed = HeartbeatLine().Replace(changed, "imlogger_heartbeat = \"30s\"", 1);
        // prosody-config writes this one itself (later in the snippet, which would win over a line added above).
        changed = Regex.Replace(changed, @"imlogger_max_batch_bytes = [0-9]+", "imlogger_max_batch_bytes = \"1MB\"");
        Assert.That(changed, Does.Contain("imlogger_heartbeat = \"30s\"").And.Contain("imlogger_linger").And.Contain("imlogger_max_batch_bytes = \"1MB\""),
            "imlogger_timeout, imlogger_heartbeat or imlogger_max_batch_bytes not found in the snippet: update this test");
        File.WriteAllText(snippet, changed);
    }

    /// <summary>Adds <c>linger: value</c> after the timeout in the module's options `imlogger server-config` wrote.</summary>
    private static void SetEjabberdLinger(EjabberdServer server, string value)
    {
        var yml = File.ReadAllText(server.Include!);
        var changed = EjabberdTimeoutLine().Replace(yml, $"$1$2linger: {value}\n", 1);
        Assert.That(changed, Is.Not.EqualTo(yml), "timeout not found in the ejabberd snippet: update this test");
        File.WriteAllText(server.Include!, changed);
    }

    [GeneratedRegex(@"(\n( +)timeout: [^\n]*\n)")]
    private static partial Regex EjabberdTimeoutLine();

    [GeneratedRegex(@"imlogger_heartbeat = [0-9.]+")]
    private static partial Regex HeartbeatLine();

    [GeneratedRegex(@"(\timlogger_timeout = [^\n]*\n)")]
    private static partial Regex TimeoutLine();

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex Drill();

    [GeneratedRegex(@"local function checked_number\(name, value, default, min, below, what\)\n.*?\n\treturn n;\nend", RegexOptions.Singleline)]
    private static partial Regex CheckedNumber();
}

using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// mod_imlogger_inline no longer serialises each held stanza to learn its size (issue 16, "cheap for Prosody"): it reads
/// an upper bound from the tree (<c>size_bound</c>), and the request split, the away memory bound and the too-large
/// refusal rest on it being an upper bound of what Prosody writes. Checked here against Prosody's own util.stanza
/// serialisation, by lua5.4 running the shipped module's lines: thousands of random trees drawn from what XML lets a
/// client put in a stanza (every escaped character, namespaced attributes, an xmlns equal to the parent's, UTF-8,
/// empty elements, nesting) and hostile shapes written by hand; and that the bound is exact for a plain chat line, so
/// that it is not a bound loose enough to pass by being huge.
/// </summary>
[TestFixture]
public partial class InlineModuleSizeBoundTests
{
    [Test, CancelAfter(60_000)]
    public async Task TheSizeBoundIsNeverBelowWhatProsodyWrites()
    {
        var module = await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "integrations", "prosody", "mod_imlogger_inline.lua"));
        var code = SizeBound().Match(module);
        Assert.That(code.Success, Is.True, "size_bound not found in mod_imlogger_inline.lua: update this test with the module");
        var dir = Paths.TempDir("imlogger-sizebound-");
        try
        {
            var lua = Path.Combine(dir, "bound.lua");
            await File.WriteAllTextAsync(lua, Harness.Replace("--SIZE_BOUND--", code.Value, StringComparison.Ordinal));
            await using var run = ProcessRunner.Start("lua", "/usr/bin/lua5.4", [lua]);
            Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(50)), Is.Zero, run.Output);
            Assert.That(run.Output, Does.Contain("checked 3000 random stanzas and 8 hostile ones"), run.Output);
            Assert.That(run.Output, Does.Not.Contain("BELOW"), run.Output);
            Assert.That(run.Output, Does.Contain("plain chat line: bound = exact"), run.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// On real Prosody with the module's counting mode and the in-flight-only linger on (both off by default, so not
    /// covered elsewhere): messages whose bodies are full of characters to escape, and one of 170,000 characters with a
    /// single apostrophe, whose bound (six times its length) is over the request limit while its real size is far
    /// below: the module must measure that one exactly and deliver it, not refuse it as too large. Every message is
    /// delivered and archived once, the counting lines show what was held, and some requests went at once.
    /// </summary>
    [Test, CancelAfter(120_000)]
    public async Task WithCountingAndTheInFlightOnlyLingerEscapedAndLargeMessagesAreDeliveredAndArchivedOnce()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="30s" />""");
        var snippet = Path.Combine(world.Dir, "tap", "imlogger.cfg.lua");
        var lua = await File.ReadAllTextAsync(snippet);
        await File.WriteAllTextAsync(snippet, Regex.Replace(lua, @"(\timlogger_timeout = [^\n]*\n)",
            "$1\timlogger_profile = true\n\timlogger_profile_interval = 1\n\timlogger_linger_in_flight_only = true\n"));
        await world.Prosody.StopAsync();
        await world.Prosody.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");
        const int count = 20;
        for (var i = 0; i < count - 1; i++)
        {
            await alice.ChatAsync("bob", System.Security.SecurityElement.Escape($"drill-{i} it's <b>bold</b> & \"quoted\" '{i}'"));
            if (i % 5 == 0) await Task.Delay(50); // gaps: requests with nothing in flight go at once
        }
        await alice.ChatAsync("bob", $"drill-{count - 1} " + new string('a', 170_000) + "&apos;");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= count, TimeSpan.FromSeconds(60),
            () => $"bob received {bob.DrillBodyCounts.Count} of {count}; alice got {alice.ErrorMessages} error(s)");
        // A line per second of activity: the last one (what was held in the last second) comes up to a second after it.
        int Held() => ProfileHeld().Matches(world.Prosody.Log).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        await InlineRestartDrillTests.WaitUntilAsync(() => Held() >= count, TimeSpan.FromSeconds(15),
            () => $"the counting lines count {Held()} held of the {count} messages");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var held = Held();
        var atOnce = ProfileAtOnce().Matches(world.Prosody.Log).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        var exact = ProfileExact().Matches(world.Prosody.Log).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        var archived = world.Archived().SelectMany(m => Drill().Matches(m.TextBody ?? "").Select(x => x.Value)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(alice.ErrorMessages, Is.Zero, "nothing refused (the large one is far below the limit)");
            Assert.That(bob.DrillBodyCounts.Values, Is.All.EqualTo(1), "delivered once");
            Assert.That(archived.Distinct().Count(), Is.EqualTo(count), "each archived");
            Assert.That(archived, Has.Count.EqualTo(count), "once");
            Assert.That(held, Is.GreaterThanOrEqualTo(count), "the counting lines count what was held");
            Assert.That(atOnce, Is.GreaterThan(0), "with nothing in flight a held stanza went at once");
            Assert.That(exact, Is.GreaterThanOrEqualTo(1), "the large message's size was measured exactly");
        });
    }

    [GeneratedRegex(@"imlogger_profile \(\w+\): (\d+) held")]
    private static partial Regex ProfileHeld();

    [GeneratedRegex(@"(\d+) sent with nothing in flight")]
    private static partial Regex ProfileAtOnce();

    [GeneratedRegex(@"(\d+) sizes serialised")]
    private static partial Regex ProfileExact();

    [GeneratedRegex(@"drill-\d+")]
    private static partial Regex Drill();

    [GeneratedRegex(@"local s_find = string\.find;\n.*?\nlocal function size_bound\(el\)\n.*?\n\treturn n;\nend", RegexOptions.Singleline)]
    private static partial Regex SizeBound();

    private const string Harness = """
        package.path = "/usr/lib/prosody/?.lua;" .. package.path
        package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
        local st = require "util.stanza"
        --SIZE_BOUND--

        local failures = 0
        local function check(what, s)
        	local exact, bound = #tostring(s), size_bound(s)
        	if bound < exact then
        		failures = failures + 1
        		print(("BELOW: %s: bound %d < exact %d: %s"):format(what, bound, exact, tostring(s):sub(1, 300)))
        	end
        	return exact, bound
        end

        -- Pieces a client may send: each escaped character, UTF-8, spaces, the \1 of a namespaced attribute's key.
        local pieces = { "a", "Z", "0", " ", "'", "\"", "<", ">", "&", "é", "😀", "\t", "\n", ";", "=", "/", ":" }
        local function text(max)
        	local t = {}
        	for i = 1, math.random(0, max) do t[i] = pieces[math.random(#pieces)] end
        	return table.concat(t)
        end
        local namespaces = { "jabber:client", "urn:xmpp:x", "urn:x'\"<&>", "" }
        local function tree(depth, parent_ns)
        	local attr = {}
        	for _ = 1, math.random(0, 4) do attr["a"..text(3):gsub("[^%w]", "x")] = text(12) end
        	local r = math.random(4)
        	if r == 1 then attr.xmlns = parent_ns elseif r == 2 then attr.xmlns = namespaces[math.random(#namespaces)] end
        	local el = st.stanza(({ "message", "body", "x", "item", "q" })[math.random(5)], attr)
        	-- Namespaced attributes as the parser stores them (util.stanza's constructor refuses the \1 in a name).
        	for _ = 1, math.random(0, 3) do el.attr[namespaces[math.random(#namespaces)].."\1l"..math.random(99)] = text(8) end
        	if depth < 5 then
        		for _ = 1, math.random(0, 4) do
        			if math.random(2) == 1 then el:text(text(30)) else el:add_child(tree(depth + 1, attr.xmlns or parent_ns)) end
        		end
        	end
        	return el
        end

        math.randomseed(16)
        for i = 1, 3000 do check("random #"..i, tree(0, nil)) end

        -- Hostile shapes: escapes only, many namespaced attributes (nsN of two digits), deep nesting, long UTF-8.
        local hostile = 0
        local function h(what, s) hostile = hostile + 1; check(what, s) end
        h("apostrophes", st.message({ to = "b@x" }):tag("body"):text(("'"):rep(10000)):up())
        h("quotes in attributes", st.message({ to = "b@x", id = ("\""):rep(500), type = "<&>" }))
        local many = st.stanza("message")
        for i = 1, 120 do many.attr["urn:n"..i.."\1a"] = "'&" end
        h("120 namespaced attributes", many)
        local deep = st.message({ to = "b@x" })
        for _ = 1, 150 do deep:tag("x", { xmlns = "urn:d" }) end
        h("150 levels", deep)
        h("empty", st.stanza("a"))
        h("same xmlns as the parent", st.message({ xmlns = "jabber:client" }):tag("body", { xmlns = "jabber:client" }):text("x"):up())
        h("UTF-8", st.message({ to = "用户@例子.test" }):tag("body"):text(("😀"):rep(2000)):up())
        h("text beside children", st.message():text("<"):tag("b"):text("&"):up():text(">"))

        -- Not loose where it matters: a plain chat line (no character to escape) is counted exactly.
        local line = st.message({ to = "bob@example.test", from = "alice@example.test/phone", type = "chat", id = "abc123" })
        	:tag("body"):text("See you at nine, room 4"):up()
        local exact, bound = check("plain chat line", line)
        print(bound == exact and "plain chat line: bound = exact" or ("plain chat line: bound %d, exact %d"):format(bound, exact))
        print(("checked 3000 random stanzas and %d hostile ones, %d below"):format(hostile, failures))
        os.exit(failures == 0 and 0 or 1)
        """;
}

using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// mod_imlogger_inline writes a verdict request as text while the component is connected (issue 16, "cheap for
/// Prosody": the tree of a request cost util.stanza a second walk): each held stanza serialised by util.stanza, its
/// &lt;item&gt; wrapper written by the module (<c>request_head</c>, <c>item_text</c>). Checked here by lua5.4 running the
/// shipped module's lines beside the tree the module built before, both parsed back by Prosody's own XML parser
/// (util.xml, expat): the same elements, attributes, namespaces and text, for thousands of random stanzas and hostile
/// ones (every character XML escapes, text that looks like entities or markup, namespaced attributes, deep nesting, a
/// 300,000-character body, item attributes full of quotes), gap and refusal reports included. A change that drops an
/// escape or a namespace fails here; the real runs (InlineModeTests, the drills, InlineModuleSizeBoundTests' escaped
/// and large bodies, <see cref="HostileBodiesAreDeliveredAndArchivedExactlyAsSent"/>) go through the text path.
/// </summary>
[TestFixture]
public partial class InlineRequestTextTests
{
    [Test, CancelAfter(90_000)]
    public async Task TheRequestTextParsesToTheTreeTheModuleBuiltBefore()
    {
        var module = await File.ReadAllTextAsync(Path.Combine(Paths.RepoRoot, "integrations", "prosody", "mod_imlogger_inline.lua"));
        var head = RequestHead().Match(module);
        var item = ItemText().Match(module);
        Assert.That(head.Success && item.Success, Is.True, "request_head or item_text not found in mod_imlogger_inline.lua: update this test with the module");
        var dir = Paths.TempDir("imlogger-requesttext-");
        try
        {
            var lua = Path.Combine(dir, "text.lua");
            await File.WriteAllTextAsync(lua, Harness.Replace("--FUNCTIONS--", head.Value + "\n" + item.Value, StringComparison.Ordinal));
            await using var run = ProcessRunner.Start("lua", "/usr/bin/lua5.4", [lua]);
            Assert.That(await run.WaitForExitAsync(TimeSpan.FromSeconds(80)), Is.Zero, run.Output);
            Assert.That(run.Output, Does.Contain("compared 2000 random requests and 9 hostile ones, 0 different"), run.Output);
            Assert.That(run.Output, Does.Not.Contain("DIFFERENT"), run.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// On real Prosody with real clients, through the text path (the default): bodies full of what a request's text
    /// must escape (entities written out, markup, quotes, a CDATA-looking run, a closing &lt;/item&gt; and
    /// &lt;/batch&gt;), an extension element with its own namespace and namespaced attributes, and one body of 48,000
    /// characters, every one to escape. Each is delivered once and archived once with its exact text, nothing refused.
    /// </summary>
    [Test, CancelAfter(120_000)]
    public async Task HostileBodiesAreDeliveredAndArchivedExactlyAsSent()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null,
            """<notifications inside="off" outside="off" />""", attach: """<attach mode="inline" failure-mode="closed" timeout="30s" />""");
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await using var alice = await RawXmppClient.LoginAsync(world.Prosody, "alice");
        await using var bob = await RawXmppClient.LoginAsync(world.Prosody, "bob");

        string[] bodies =
        [
            "drill-0 &amp; &lt;b&gt; &#38; &#x3C; &apos;&quot; written out",
            "drill-1 </body></message></item></batch></iq><iq type='result'/>",
            "drill-2 <![CDATA[ not cdata ]]> <!-- not a comment --> <?pi?>",
            "drill-3 'single' \"double\" <a href='x'>&</a> 😀 é",
            "drill-4 " + new string('&', 1000) + new string('<', 1000) + new string('\'', 1000),
            // 48,000 characters, 168 KB escaped on the client's stream (below Prosody's 256 KB stanza limit).
            "drill-5 " + string.Concat(Enumerable.Repeat("x&y<z>'\"", 6_000)),
        ];
        foreach (var body in bodies) await alice.ChatAsync("bob", System.Security.SecurityElement.Escape(body));
        // An extension element of another namespace with a namespaced attribute, nested: routed as sent.
        await alice.SendRawAsync("<message to='bob@example.test' type='chat' id='ext-1'><body>drill-6 with extension</body>"
            + "<x xmlns='urn:example:hostile' xmlns:h='urn:example:h' h:note='a&apos;b&amp;c'><y><z>&lt;/item&gt;</z></y></x></message>");
        await InlineRestartDrillTests.WaitUntilAsync(() => bob.DrillBodyCounts.Count >= bodies.Length + 1, TimeSpan.FromSeconds(60),
            () => $"bob received {bob.DrillBodyCounts.Count} of {bodies.Length + 1}; alice got {alice.ErrorMessages} error(s)");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var archived = world.Archived().Select(m => m.TextBody ?? "").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(alice.ErrorMessages, Is.Zero, "nothing refused");
            Assert.That(bob.DrillBodyCounts.Values, Is.All.EqualTo(1), "delivered once");
            for (var i = 0; i < bodies.Length; i++)
            {
                Assert.That(archived.Count(t => t.Contains(bodies[i].Length > 300 ? bodies[i][..300] : bodies[i], StringComparison.Ordinal)),
                    Is.EqualTo(1), $"body {i} archived once, its text exact");
            }
            Assert.That(archived.Count(t => t.Contains("drill-6 with extension", StringComparison.Ordinal)), Is.EqualTo(1), "the extension's message archived once");
        });
    }

    [GeneratedRegex(@"local function request_head\(id, lane\)\n.*?\nend", RegexOptions.Singleline)]
    private static partial Regex RequestHead();

    [GeneratedRegex(@"local function item_text\(item, to_local\)\n.*?\nend", RegexOptions.Singleline)]
    private static partial Regex ItemText();

    private const string Harness = """
        package.path = "/usr/lib/prosody/?.lua;" .. package.path
        package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
        local st = require "util.stanza"
        local xml_parse = require "util.xml".parse
        local xml_escape, xmlns = st.xml_escape, "urn:imlogger:inline:0"
        local module = { host = "example.test" }
        --FUNCTIONS--

        -- An element as a canonical string: name, namespace in force, attributes sorted, children in order, adjacent
        -- texts joined (a parser may split text nodes where the serialiser wrote one).
        local function canon(el, ns)
        	ns = el.attr.xmlns or ns
        	local keys = {}
        	for k in pairs(el.attr) do if k ~= "xmlns" then keys[#keys + 1] = k end end
        	table.sort(keys)
        	local out = { "<", el.name, " {", tostring(ns), "}" }
        	for _, k in ipairs(keys) do out[#out + 1] = (" %q=%q"):format(k, el.attr[k]) end
        	out[#out + 1] = ">"
        	local pending = nil
        	for _, child in ipairs(el) do
        		if type(child) == "string" then pending = (pending or "") .. child
        		else
        			if pending then out[#out + 1] = ("%q"):format(pending); pending = nil end
        			out[#out + 1] = canon(child, ns)
        		end
        	end
        	if pending then out[#out + 1] = ("%q"):format(pending) end
        	out[#out + 1] = "</>"
        	return table.concat(out)
        end

        -- The request as the module built it before (a tree, serialised by util.stanza) and as text now.
        local function both(items, reports)
        	local lane = { component = "archive.example.test" }
        	local tree = st.iq({ type = "set", id = "imlogger-x1", from = module.host, to = lane.component }):tag("batch", { xmlns = xmlns, verdicts = "compact" })
        	local text = { request_head("imlogger-x1", lane) }
        	for _, it in ipairs(items) do
        		it.saved = it.stanza.attr.xmlns
        		it.stanza.attr.xmlns = "jabber:client"
        		text[#text + 1] = item_text(it, it.to_local)
        		tree:tag("item", { id = it.id, direction = it.direction, user = it.user, ["to-local"] = it.to_local, restricted = it.forced,
        			["occupant-jid"] = it.occupant }):add_child(it.stanza):up()
        	end
        	local holder = st.stanza("reports")
        	for _, r in ipairs(reports) do holder:add_child(r); tree:add_child(r) end
        	for _, r in ipairs(holder.tags) do text[#text + 1] = tostring(r) end
        	text[#text + 1] = "</batch></iq>"
        	local tree_text = tostring(tree)
        	for _, it in ipairs(items) do it.stanza.attr.xmlns = it.saved end
        	return tree_text, table.concat(text)
        end

        local failures, compared = 0, 0
        local function compare(what, items, reports)
        	compared = compared + 1
        	local tree_text, text = both(items, reports or {})
        	local a, err_a = xml_parse(tree_text)
        	local b, err_b = xml_parse(text)
        	if not a then print("tree did not parse: " .. tostring(err_a)) end
        	if not b or canon(a) ~= canon(b) then
        		failures = failures + 1
        		print(("DIFFERENT: %s: %s\n  tree: %s\n  text: %s"):format(what, tostring(err_b), tree_text:sub(1, 400), text:sub(1, 400)))
        	end
        end

        local pieces = { "a", "Z", "0", " ", "'", "\"", "<", ">", "&", "é", "😀", "\t", "\n", ";", "=", "/", ":", "&amp;", "]]>", "&#60;" }
        local function text(max)
        	local t = {}
        	for i = 1, math.random(0, max) do t[i] = pieces[math.random(#pieces)] end
        	return table.concat(t)
        end
        local namespaces = { "jabber:client", "urn:xmpp:x", "urn:x'\"<&>", "urn:imlogger:inline:0" }
        local function tree(depth, parent_ns)
        	local attr = {}
        	for _ = 1, math.random(0, 4) do attr["a"..text(3):gsub("[^%w]", "x")] = text(12) end
        	local r = math.random(4)
        	if r == 1 then attr.xmlns = parent_ns elseif r == 2 then attr.xmlns = namespaces[math.random(#namespaces)] end
        	local el = st.stanza(({ "body", "x", "item", "batch", "q" })[math.random(5)], attr)
        	-- Namespaced attributes as the parser stores them (util.stanza's constructor refuses the \1 in a name; util.xml
        	-- refuses a quote in the namespace of one, so those take the namespaces without).
        	for _ = 1, math.random(0, 3) do el.attr[namespaces[({ 1, 2, 4 })[math.random(3)]].."\1l"..math.random(99)] = text(8) end
        	if depth < 5 then
        		for _ = 1, math.random(0, 4) do
        			if math.random(2) == 1 then el:text(text(30)) else el:add_child(tree(depth + 1, attr.xmlns or parent_ns)) end
        		end
        	end
        	return el
        end
        local function stanza()
        	local s = st.stanza(({ "message", "presence", "iq" })[math.random(3)], { to = "bob@example.test", from = "alice@example.test/"..text(5), id = text(6) })
        	for _ = 1, math.random(0, 3) do s:add_child(tree(1, nil)) end
        	if math.random(3) == 1 then s:text(text(20)) end
        	return s
        end
        local function item(i, s)
        	return { id = tostring(i), direction = math.random(2) == 1 and "in" or "out", user = "alice@example.test", stanza = s or stanza(),
        		to_local = math.random(2) == 1 and "true" or "false",
        		forced = math.random(5) == 1 and "encryption-disabled" or nil,
        		occupant = math.random(4) == 1 and ("o"..text(6).."@example.test") or nil }
        end

        math.randomseed(16)
        for n = 1, 2000 do
        	local items = {}
        	for i = 1, math.random(1, 6) do items[i] = item(i) end
        	compare("random #"..n, items)
        end

        local hostile = 0
        local function h(what, items, reports) hostile = hostile + 1; compare(what, items, reports) end
        h("entities written out", { item(1, st.message({ to = "b@x" }):tag("body"):text("&amp; &lt; &#38; &#x3C; &apos;"):up()) })
        h("closing tags in text", { item(1, st.message({ to = "b@x" }):tag("body"):text("</body></message></item></batch></iq>"):up()) })
        h("300,000-character body", { item(1, st.message({ to = "b@x" }):tag("body"):text(("x&y<z>'\""):rep(37500)):up()) })
        local deep = st.message({ to = "b@x" })
        for _ = 1, 150 do deep:tag("x", { xmlns = "urn:d" }) end
        h("150 levels", { item(1, deep) })
        local many = st.message({ to = "b@x" })
        for i = 1, 120 do many.attr["urn:n"..i.."\1a"] = "'&" end
        h("120 namespaced attributes", { item(1, many) })
        h("stanza already in jabber:client, child in the batch namespace", { item(1, st.message({ xmlns = "jabber:client", to = "b@x" })
        	:tag("batch", { xmlns = xmlns }):tag("item", { id = "99" }):up():up()) })
        h("item attributes with quotes", { { id = "1", direction = "out", user = "a'b\"c<d>&e@example.test", to_local = "true",
        	forced = "x'\"<&>", occupant = "o'\"&<>@example.test", stanza = st.message({ to = "b@x" }) } })
        h("reports beside items", { item(1), item(2) }, { st.stanza("gap", { user = "a'@x", count = "3", since = "2026-01-01T00:00:00Z", ["until"] = "t<" }),
        	st.stanza("refused", { request = "imlogger-1", count = "2", reason = "no answer within 10 s & '\"" }) })
        h("reports alone", {}, { st.stanza("refused", { request = "imlogger-2", count = "1", reason = "<x>" }) })
        print(("compared %d random requests and %d hostile ones, %d different"):format(compared - hostile, hostile, failures))
        os.exit(failures == 0 and 0 or 1)
        """;
}

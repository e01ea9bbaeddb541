-- mod_imlogger_inline: holds every stanza a logged user sends or receives until ImLogger (an
-- external component, XEP-0114) has stored it durably and returned a verdict; then routes it
-- unchanged, or refuses it with the XMPP error ImLogger chose.
-- Protocol: docs/inline-protocol.md (urn:imlogger:inline:0). Prosody 0.12.
--
-- Configuration (what `imlogger prosody-config --mode inline` prints):
--   imlogger_component     = "archive.example.test"   -- ImLogger's component JID (required)
--   imlogger_logged_users  = { "alice@example.test" }  -- bare JIDs to hold stanzas for
--   imlogger_log_all       = false                     -- true: hold every user of the host (logged by default)
--   imlogger_excluded_users = { "ceo@example.test" }   -- with imlogger_log_all: users never held
--   imlogger_unlogged_ttl  = 300                       -- with imlogger_log_all: seconds a user without a seat stays unheld
--   imlogger_failure_mode  = "closed"                  -- or "open": see the protocol document
--   imlogger_timeout       = 10                        -- seconds a held stanza waits for its verdict (also while ImLogger is away)
--   imlogger_batch_size    = 100                       -- stanzas per verdict request, at most
--   imlogger_max_held      = 500                       -- per session; beyond, stop reading from the client
--   imlogger_max_batch_bytes = 983040                  -- bytes per verdict request, at most: below ImLogger's max-stanza-bytes
--   imlogger_linger        = 0.020                     -- seconds a held stanza waits for others to share its request
--   imlogger_linger_in_flight_only = false             -- true: linger only while a request awaits verdicts, else send at once
--   imlogger_raw_requests  = true                      -- false: route every verdict request as a tree (see "Requests as text")
--   imlogger_profile       = false                     -- true: count the module's own CPU time per held stanza, logged at
--                                                         warn every imlogger_profile_interval (10) s (see "Counting mode")
--   imlogger_max_in_flight = 4                         -- requests awaiting verdicts at once; beyond, only full ones go
--   imlogger_away_max_bytes = 33554432                 -- fail-closed: bytes of stanzas kept while ImLogger is away (a restart);
--                                                         beyond, the oldest are refused (see "While ImLogger is away")
--   imlogger_check_clients = false                     -- true (an organization with <approved-clients>): judge each logged
--                                                         user's new session by its client before it takes part (see the end)
--   imlogger_client_timeout = 10                       -- seconds a new session has to answer the version query

local st = require "util.stanza";
local jid = require "util.jid";
local datetime = require "util.datetime";
local new_id = require "util.id".short;
local time_now = require "util.time".now;

local hosts = prosody.hosts;
local core_post_stanza = prosody.core_post_stanza;
local jid_bare, jid_host, jid_split, jid_prep = jid.bare, jid.host, jid.split, jid.prep;

local xmlns = "urn:imlogger:inline:0";
-- A mistake in these settings must not unload the module: Prosody 0.12 logs a module that fails to load and runs on
-- without it, so every logged user's stanza would pass unheld and unarchived (fail-open by accident). Each is logged at
-- error level with what to write, and the module holds all the same, with the setting that refuses rather than lets
-- through (InlineModuleSettingErrorTests).
local component = module:get_option_string("imlogger_component");
if not component then
	module:log("error", "imlogger_component is not set: give the JID of the ImLogger component, e.g. \"archive.example.test\", "
		.."and reload; until then held stanzas wait for a component that cannot answer and are refused after imlogger_timeout");
	component = "imlogger-component-not-set.invalid";
end
local logged = module:get_option_set("imlogger_logged_users", {});
-- An organization logged by default: hold everyone on this host but the excluded; ImLogger decides who holds a
-- seat and passes the stanzas of the others unlogged and unrestricted.
-- A switch that widens what is held or checked (imlogger_log_all, imlogger_check_clients): a value that is neither true
-- nor false ("yes", "on") is read as true and logged. Prosody's get_option_boolean gives nil for it, which read as
-- false: a typo let an organization logged by default pass unheld, or unapproved clients sign in.
local function widening_switch(name)
	local value = module:get_option_scalar(name);
	if value == nil or value == false or value == "false" or value == 0 then return false; end
	if value == true or value == "true" or value == 1 then return true; end
	module:log("error", "%s = %s is neither true nor false: using true (it holds or checks more, never less); write true or false", name, tostring(value));
	return true;
end
local log_all = widening_switch("imlogger_log_all");
local excluded = module:get_option_set("imlogger_excluded_users", {});
local failure_mode = module:get_option_string("imlogger_failure_mode", "closed");
if failure_mode ~= "closed" and failure_mode ~= "open" then
	module:log("error", "imlogger_failure_mode must be \"closed\" or \"open\", not %q: using \"closed\"", tostring(failure_mode));
	failure_mode = "closed";
end
-- The numbers an operator may write by hand, checked. Prosody's get_option_number gives nil for one that is not a
-- number ("10ms", "a hundred"), and the module then failed part-way through holding or sending a stanza, which stayed
-- unrouted and unanswered (imlogger_linger = "10ms": until a full batch took it; InlineLingerOptionTests). Not a number,
-- or out of range: logged at error level with what to write, and the default used, so every stanza stays held and answered.
local function checked_number(name, value, default, min, below, what)
	if value == nil then return default; end
	local n = tonumber(value);
	if n == nil or n ~= n or n < min or (below ~= nil and n >= below) then
		return default, ("%s = %s is not a number of %s: using %s instead"):format(name, tostring(value), what, tostring(default));
	end
	return n;
end
local function number_option(name, default, min, below, what)
	local n, problem = checked_number(name, module:get_option_scalar(name), default, min, below, what);
	if problem then module:log("error", "%s", problem); end
	return n;
end
local timeout = number_option("imlogger_timeout", 10, 0.001, nil, "seconds, more than 0");
local batch_size = number_option("imlogger_batch_size", 100, 1, nil, "stanzas per request, 1 or more");
local max_held = number_option("imlogger_max_held", 500, 1, nil, "stanzas per session, 1 or more");
-- ImLogger reads a request over its max-stanza-bytes only up to that limit, so requests are split below it; a stanza
-- that alone would not fit is refused by itself, never sent (see "Limits" in docs/inline-protocol.md).
local max_batch_bytes = number_option("imlogger_max_batch_bytes", 960 * 1024, 4096, nil, "bytes, 4096 or more");
-- A held stanza's size is an upper bound (size_bound, below) up to this; beyond, it is measured exactly. A sixteenth of
-- the request limit: a bound this far below it changes no refusal, and at worst splits a request a little early.
local exact_size_from = math.floor(max_batch_bytes / 16);

-- An upper bound of #tostring(el) read from the tree, without serialising (util.stanza's _dostring builds a table of
-- strings and escapes every text and attribute value with a gsub: about as much work per held stanza as the rest of
-- hold together). Why it is an upper bound, piece by piece of what _dostring writes:
--   "<"..name, then "/>" or ">" .. children .. "</"..name..">":   at most 2 * #name + 5 bytes
--   an attribute " "..k.."='"..escape(v).."'":                   #k + 4 + escape(v)
--   a namespaced attribute (k = ns.."\1"..local name), written as " xmlns:nsN='"..escape(ns).."' nsN:"..local.."='"..escape(v).."'":
--                                                                19 + 2 * #N + escape(ns) + #local + escape(v),
--                                                                at most 6 * #k + 40 + escape(v) (N, a count, of at most 10 digits)
--   a text child: escape(text); and an xmlns equal to the parent's is left out, which only makes the real size smaller.
-- escape() (xml_escape) replaces each of ' " < > & by at most 6 bytes: escape(s) <= #s when s has none of them
-- (checked by one plain find, no allocation), and <= 6 * #s always. So a body without those characters counts its
-- exact length, and one with them counts six times over: a few hundred bytes for a chat line, far below the request
-- limit. Where the bound nears the limits that matter, hold() measures exactly instead.
local s_find = string.find;
local function escaped_bound(s)
	local n = #s;
	if s_find(s, "['\"<>&]") then return 6 * n; end
	return n;
end
local function size_bound(el)
	local n = 2 * #el.name + 5;
	for k, v in pairs(el.attr) do
		if s_find(k, "\1", 1, true) then
			n = n + 6 * #k + 40 + escaped_bound(v);
		else
			n = n + #k + 4 + escaped_bound(v);
		end
	end
	for i = 1, #el do
		local child = el[i];
		if type(child) == "string" then
			n = n + escaped_bound(child);
		else
			n = n + size_bound(child);
		end
	end
	return n;
end

local unavailable_text = "Archiving is unavailable; your message was not sent. Try again in a moment.";
-- Fail-closed: while ImLogger is away (restarting, crashed, its host down) held stanzas wait for it, up to the timeout
-- each and this many bytes together; the oldest beyond the bound are refused (docs/inline-protocol.md).
local away_max_bytes = number_option("imlogger_away_max_bytes", 32 * 1024 * 1024, 0, nil, "bytes, 0 or more");

local stopping = false;   -- the server is shutting down: no request of reports alone
local settling = false;   -- settle_everything runs: what is held meanwhile is settled with the rest (hold)
local batches = {};      -- request id -> { items = { [item id] = item }, gaps = {...}, refusals = {...}, lane = lane, deadline }
local queues = {};       -- queue key -> items in arrival order (release order)
local next_item = 0;

-- One lane per ImLogger instance (docs/scale-out.md): with imlogger_components, each conversation's stanzas go to the
-- instance a stable hash of its key picks, and each instance is away, blocked or backed off on its own. Without it, one
-- lane for imlogger_component. A lane holds:
--   waiting          held items not yet sent to that instance, in arrival order; waiting_bytes the sum of their sizes
--   gaps             logged user -> { count, since, until } (fail-open only), reported to that instance
--   refusals         its requests refused on failure, not yet reported: { request, count, reason } (fail-closed only)
--   away             fail-closed: true from the moment the server says the component is not connected (a bounce, its
--                    disconnect) until it is back (it authenticates again, or answers a probe); meanwhile nothing is
--                    sent to it but one probe request per retry (retry_scheduled, retry_delay)
--   down             fail-open: the same knowledge, used to give its share to the next instance (re-hash)
--   in_flight        its requests in `batches`; blocked: flush stopped at max_in_flight with stanzas waiting
local function new_lane(jid_of_component, bucket)
	return { component = jid_of_component, bucket = bucket, waiting = {}, waiting_bytes = 0, gaps = {}, refusals = {},
		flush_scheduled = false, away = false, down = false, retry_scheduled = false, retry_delay = 0.25,
		in_flight = 0, blocked = false };
end

-- Cost for Prosody (docs/inline-protocol.md, "Order, timeouts and load"): each request costs Prosody a serialisation, a parse of the
-- answer and routing both ways, so one request per stanza at low rates cost more than the stanza itself. A held stanza
-- waits `linger` for others to share its request (a full batch goes at once), and beyond `max_in_flight` requests
-- awaiting verdicts only full ones go: the rest gather until one is answered, so a slow ImLogger gets larger requests.
-- 20 ms: at 500-2,000 msg/s each request then carries 10-40 stanzas; against 10 ms the medians of four idle rounds
-- cost ImLogger 25-35% and Prosody 7-20% less CPU per stanza, for about 6 ms more at the median (16-21 ms in all), far
-- below what a person can see in a chat (docs/performance.md, "The linger at 20 ms, measured in rounds"; 10 ms against 3:
-- "One write per request, and a 10 ms linger"). 0.010 or 0.003 answers sooner for more CPU on both sides.
-- In seconds (ejabberd's `linger` is in milliseconds); below the timeout, or a stanza spends its whole timeout waiting
-- for company (10 meant as milliseconds is 10 s).
local linger = number_option("imlogger_linger", 0.020, 0, timeout,
	"seconds, from 0 to below imlogger_timeout ("..tostring(timeout).." s): 10 ms is 0.010 (ejabberd's linger is in milliseconds)");
-- true: the linger applies only while a request of the lane awaits its verdicts (as Nagle's algorithm); with none in
-- flight a held stanza goes at once, in a request of its own: low rates pay no linger in latency. Off by default: counted
-- inside Prosody (docs/performance.md, "Counting inside Prosody"), it sent 1.2 to 3.5 times as many requests at 500-2,000
-- msg/s (a stanza sent at once takes the in-flight slot; the next ones still wait for the timer, in smaller groups),
-- each costing Prosody a write and a parse of the answer, and Prosody more CPU per stanza at 2,000 msg/s.
local linger_in_flight_only = module:get_option_boolean("imlogger_linger_in_flight_only", false);
-- 0 would send partial requests never: a stanza would wait for a full batch.
local max_in_flight = number_option("imlogger_max_in_flight", 4, 1, nil, "requests awaiting verdicts, 1 or more");
local sweeping = false;  -- the one timer that fails requests past their deadline runs (not one timer per request)

-- Counting mode (imlogger_profile = true; off by default, it costs a clock read per call): where the module's own CPU
-- time goes, counted inside Prosody. os.clock() (process CPU time, lua5.4: clock_gettime) around each entry point,
-- accumulated, and one line per imlogger_profile_interval (10) s of activity, at warn level so that it shows in a log
-- kept at warn, with the interval's CPU time of the whole Prosody process beside it, per held stanza. Times are inclusive (a verdict's answer includes
-- the release and the routing of what it allows; the outgoing hook includes hold, hold includes a full request's
-- flush). CPU time, unlike latency, is barely moved by other processes on the machine.
local prof;
if module:get_option_boolean("imlogger_profile", false) then
	local os_clock = os.clock;
	local names = { "outgoing", "incoming", "hold", "size", "flush", "answer", "release" };
	prof = { cpu = {}, calls = {}, count = { held = 0, requests = 0, sent_items = 0, exact = 0, immediate = 0 }, clock = os_clock,
		waits = {}, trips = {} };
	-- "p50/p99/max" in ms of the wall-clock durations gathered since the last line (then forgotten).
	function prof.percentiles(list)
		local n = #list;
		if n == 0 then return "none"; end
		table.sort(list);
		local function at(q) return list[math.max(1, math.ceil(q * n))] * 1000; end
		local text = ("%.2f/%.2f/%.2f ms"):format(at(0.5), at(0.99), list[n] * 1000);
		for i = n, 1, -1 do list[i] = nil; end
		return text;
	end
	for _, name in ipairs(names) do prof.cpu[name], prof.calls[name] = 0, 0; end
	-- Wraps an entry point; its time and calls add up under `name`.
	function prof.wrap(name, f)
		local cpu, calls = prof.cpu, prof.calls;
		return function (...)
			local t0 = os_clock();
			local a, b = f(...);
			cpu[name], calls[name] = cpu[name] + (os_clock() - t0), calls[name] + 1;
			return a, b;
		end;
	end
	local last = { at = os_clock(), held = 0, cpu = {}, calls = {}, count = {} };
	for _, name in ipairs(names) do last.cpu[name], last.calls[name] = 0, 0; end
	function prof.report(why)
		local now, c = os_clock(), prof.count;
		local held = c.held - last.held;
		if held == 0 and why == "interval" then last.at = now; return; end
		local parts = {};
		for _, name in ipairs(names) do
			local dt, dn = prof.cpu[name] - last.cpu[name], prof.calls[name] - last.calls[name];
			parts[#parts + 1] = ("%s %.1f us (%d calls)"):format(name, held > 0 and dt * 1e6 / held or 0, dn);
			last.cpu[name], last.calls[name] = prof.cpu[name], prof.calls[name];
		end
		local requests, items = c.requests - (last.count.requests or 0), c.sent_items - (last.count.sent_items or 0);
		module:log("warn", "imlogger_profile (%s): %d held in %.1f s of Prosody CPU = %.1f us per held stanza; module per held stanza: %s;"
			.." %d requests (%.1f stanzas each, %d sent with nothing in flight), %d sizes serialised;"
			.." wait before the request p50/p99/max %s, request round trip %s",
			why, held, now - last.at, held > 0 and (now - last.at) * 1e6 / held or 0, table.concat(parts, ", "),
			requests, requests > 0 and items / requests or 0, c.immediate - (last.count.immediate or 0), c.exact - (last.count.exact or 0),
			prof.percentiles(prof.waits), prof.percentiles(prof.trips));
		last.at, last.held = now, c.held;
		for k, v in pairs(c) do last.count[k] = v; end
	end
	local every = number_option("imlogger_profile_interval", 10, 0.001, nil, "seconds, more than 0");
	module:add_timer(every, function () prof.report("interval"); return every; end);
	module:hook_global("server-stopping", function () prof.report("stopping"); end, 100);
end
-- `f` counted under `name` in counting mode; `f` itself otherwise (no cost when off).
local function profiled(name, f)
	if prof then return prof.wrap(name, f); end
	return f;
end

-- With imlogger_log_all, users ImLogger said hold no seat (over the limit): not held, so that they neither wait for
-- ImLogger nor are refused while it is away. Forgotten when ImLogger says the seats changed, when the config is
-- reloaded, and after imlogger_unlogged_ttl seconds in any case (a lost message costs a round trip, no more).
local unlogged = {};     -- bare JID -> clock() when ImLogger answered "not logged"
-- Monotonic: a system clock stepped back a day must not leave a user unheld for a day.
local clock = require "util.time".monotonic or os.time;
local unlogged_ttl = number_option("imlogger_unlogged_ttl", 300, 0, nil, "seconds, 0 or more");

local function is_logged(user)
	if log_all then
		if jid_host(user) ~= module.host or excluded:contains(user) then return false; end
		local since = unlogged[user];
		if since and clock() - since < unlogged_ttl then return false; end
		unlogged[user] = nil;
		return true;
	end
	return logged:contains(user);
end

local function describe_logged()
	if log_all then
		local count = 0;
		for _ in excluded:items() do count = count + 1; end
		return ("every user of %s but %d excluded (logged by default)"):format(module.host, count);
	end
	local count = 0;
	for _ in logged:items() do count = count + 1; end
	return ("%d logged user(s)"):format(count);
end

-- ─── Scale-out: which ImLogger instance a conversation goes to (docs/scale-out.md) ──────────────────────────────────────
-- imlogger_components lists every instance's component in bucket order (the same list in every instance's config, so
-- the rules written from any of them agree). A conversation's key is the room's bare JID for group chat (with private
-- messages through the room), otherwise the sorted pair of bare JIDs; FNV-1a (32 bits) of the key, scaled to the number
-- of instances (floor(hash * n / 2^32)), picks its lane. The same key always lands on the same instance: a transcript is never split between
-- instances while the list stays the same.
local lanes, lane_of = {}, {};
for i, c in ipairs(module:get_option_array("imlogger_components", { component })) do
	lanes[i] = new_lane(c, i);
	lane_of[c] = lanes[i];
end
if not lane_of[component] then
	-- Held and sent to this instance too (a lane of its own, last), rather than not at all.
	module:log("error", "imlogger_component (%s) is not in imlogger_components: list every instance's component, this one's "
		.."included, in the same order in every instance's config; until then it is used as one more instance", component);
	lanes[#lanes + 1] = new_lane(component, #lanes + 1);
	lane_of[component] = lanes[#lanes];
end
local route = {};
do
	local modulemanager = require "core.modulemanager";
	-- Lua 5.3+ has integer XOR; older Lua (Prosody 0.12 also runs on 5.1/5.2) gets it by arithmetic on the low byte.
	local bxor8 = (load("return function (a, b) return a ~ b; end") or function () return nil; end)();
	if not bxor8 then
		bxor8 = function (a, b)
			local r, bit = 0, 1;
			for _ = 1, 8 do
				if (a % 2) ~= (b % 2) then r = r + bit; end
				a, b, bit = (a - a % 2) / 2, (b - b % 2) / 2, bit * 2;
			end
			return r;
		end;
	end
	-- FNV-1a, 32 bits, exact in doubles too: 16777619 = 2^24 + 403.
	function route.hash(key)
		local h = 2166136261;
		for i = 1, #key do
			local low = h % 256;
			h = h - low + bxor8(low, key:byte(i));
			h = ((h % 256) * 16777216 + h * 403) % 4294967296;
		end
		return h;
	end

	-- The bare JID a key holds: nodeprep'd localpart, nameprep'd domain (lower case, NFKC), as ejabberd's jid:tolower
	-- gives it, so that "Bob@Example.test" and "bob@example.test" are one conversation on one instance on both servers.
	-- Prosody's router has already prepped the to and from of what a client or a remote server sent; this keeps the key
	-- right for a stanza another module built (a JID of only a-z, digits and punctuation is its own nodeprep: no work).
	function route.bare(peer)
		local bare = jid_bare(peer);
		if bare and bare:find("[A-Z\128-\255]") then return jid_prep(bare) or bare; end
		return bare;
	end

	-- Rooms are learned as they are seen, as ImLogger learns them: a MUC host of this server, a groupchat message, a
	-- join or a room's presence (muc, muc#user); a room on another server is known from the logged user's join on.
	local rooms, room_count = {}, 0;
	function route.is_room(bare, stanza)
		if rooms[bare] then return true; end
		local host = jid_host(bare);
		local room = (host and hosts[host] and modulemanager.is_loaded(host, "muc"))
			or stanza.attr.type == "groupchat"
			or stanza:get_child("x", "http://jabber.org/protocol/muc") ~= nil
			or stanza:get_child("x", "http://jabber.org/protocol/muc#user") ~= nil;
		if room and jid_split(bare) then
			if room_count >= 100000 then rooms, room_count = {}, 0; end
			rooms[bare], room_count = true, room_count + 1;
		end
		return room and true or false;
	end

	-- The conversation a held stanza belongs to, as ImLogger keys its transcripts (a private message through a room is
	-- keyed by ImLogger as a pair with the occupant: routing it by the room keeps all of that transcript on one instance).
	function route.key(direction, user, stanza)
		local peer = direction == "out" and stanza.attr.to or stanza.attr.from;
		local bare = peer and route.bare(peer) or user;
		if bare ~= user and route.is_room(bare, stanza) then return bare; end
		return route.pair(user, bare);
	end

	-- A pair's key: the two bare JIDs sorted bytewise, joined by one space (ImLogger's own key for the pair).
	function route.pair(a, b)
		if b < a then return b.." "..a; end
		return a.." "..b;
	end

	-- The lane of a key. Fail-open: an instance known to be down gives its share to the next one up (re-hash: logged,
	-- not a gap); fail-closed never re-hashes: its share waits for it (held), so a transcript stays whole.
	function route.lane_of_key(key)
		if #lanes == 1 then return lanes[1]; end
		-- The hash's high bits pick the bucket (its low bits are weak: the parity of FNV-1a is the parity of the key's bytes).
		local first = math.floor(route.hash(key) * #lanes / 4294967296) + 1;
		local lane = lanes[first];
		if failure_mode ~= "open" or not lane.down then return lane; end
		for i = 1, #lanes - 1 do
			local other = lanes[(first - 1 + i) % #lanes + 1];
			if not other.down then return other; end
		end
		return lane;
	end
end

module:log("info", "Holding the stanzas of %s for %s (fail-%s, timeout %s s)",
	describe_logged(), #lanes == 1 and component or (#lanes.." ImLogger instances ("..table.concat(module:get_option_array("imlogger_components", {}), ", ")..")"),
	failure_mode, tostring(timeout));

-- ImLogger rewrites the logged users on a live reload of its own config (<attach rules-out="...">);
-- `prosodyctl reload` re-reads them here. Stanzas already held keep their verdicts.
module:hook_global("config-reloaded", function ()
	logged = module:get_option_set("imlogger_logged_users", {});
	log_all = widening_switch("imlogger_log_all");
	excluded = module:get_option_set("imlogger_excluded_users", {});
	unlogged = {};
	module:log("info", "Config reloaded: holding the stanzas of %s", describe_logged());
end);

-- Is this JID an instance's component or something on its domain?
local function is_component(addr)
	return addr ~= nil and (lane_of[addr] ~= nil or lane_of[jid_host(addr) or ""] ~= nil);
end

local hold_server_answer; -- below, once hold() exists
local flush; -- below

-- Reading again from a session paused by back-pressure. conn:resume() alone is not enough on Prosody 0.12's server_epoll:
-- it only asks epoll for the next readable event, and the read that paused may have left bytes in the socket's user-space
-- buffer (Prosody reads 4 KB at a time from LuaSocket's 8 KB buffer; a TLS record's remainder likewise), which raise no
-- event: the client's last stanzas would wait there, neither delivered nor refused, until it sent something else.
-- pausefor(0) resumes on the next tick and reads that buffer first (as Prosody's own rate limiter does).
local function resume_reading(conn)
	conn:resume();
	if conn.pausefor then conn:pausefor(0); end
end

local function release(key)
	local queue = queues[key];
	local origin_of_queue = queue and queue[1] and queue[1].origin;
	while queue and queue[1] and queue[1].verdict do
		local item = table.remove(queue, 1);
		local stanza, origin = item.stanza, item.origin;
		-- Held only to be archived (encryption disabled): refused whatever the verdict or the failure mode, and already
		-- answered by the module when it was held.
		if item.forced then
			module:log("debug", "Dropped %s %s of %s after archiving: %s", item.direction, stanza.name, item.user, item.forced);
		elseif item.verdict == "allow" then
			if item.direction == "out" then
				stanza.imlogger_out = true;
				if (stanza.name == "iq" and (stanza.attr.type == "get" or stanza.attr.type == "set"))
					or (stanza.name == "message" and stanza.attr.type ~= "error" and stanza.attr.id) then
					hold_server_answer(item);
				else
					core_post_stanza(origin, stanza, origin.full_jid);
				end
			else
				stanza.imlogger_in = true;
				local sender = origin.type == "c2s" and origin.username and origin.username.."@"..origin.host;
				if stanza.name == "message" and stanza.attr.type ~= "error" and stanza.attr.id and sender and is_logged(sender) then
					-- Held for a logged recipient the server then cannot deliver to (an account that does not exist, with
					-- log-all): its bounce goes straight to the logged sender's session, and is held for the sender.
					hold_server_answer({ origin = origin, stanza = stanza, user = sender }, true);
				else
					core_post_stanza(origin, stanza);
				end
			end
		else
			local t = stanza.attr.type;
			module:log("debug", "Refused %s %s of %s (%s): %s", item.direction, stanza.name, item.user, item.condition, item.text or "");
			if t ~= "error" and t ~= "result" then
				local reply = st.error_reply(stanza, item.error_type, item.condition, item.text, component);
				-- ImLogger's own words, not a client's: a logged sender receives them unheld.
				reply.imlogger_in = true;
				if item.direction == "out" then origin.send(reply); else module:send(reply); end
			end
		end
	end
	if origin_of_queue and origin_of_queue.imlogger_paused and (not queue or #queue <= max_held / 2) and origin_of_queue.conn then
		origin_of_queue.imlogger_paused = nil;
		resume_reading(origin_of_queue.conn);
	end
	if queue and #queue == 0 then queues[key] = nil; end
end
release = profiled("release", release);

local function decide(item, verdict, error_type, condition, text)
	item.verdict, item.error_type, item.condition, item.text = verdict, error_type, condition, text;
end

-- The reports a request carried were not acknowledged: report them again with the next one.
local function restore_reports(batch)
	local lane = batch.lane;
	for _, r in ipairs(batch.refusals) do lane.refusals[#lane.refusals + 1] = r; end
	-- While ImLogger is away every request fails: keep the newest (it never saw the oldest anyway).
	while #lane.refusals > 1000 do table.remove(lane.refusals, 1); end
	for user, gap in pairs(batch.gaps) do
		local current = lane.gaps[user];
		if current then
			current.count, current.since = current.count + gap.count, gap.since;
		else
			lane.gaps[user] = gap;
		end
	end
end

local function fail(id, reason)
	local batch = batches[id];
	if not batch then return; end
	local lane = batch.lane;
	batches[id] = nil;
	lane.in_flight = lane.in_flight - 1;
	local n, keys, now = 0, {}, datetime.datetime();
	for _, item in pairs(batch.items) do
		n = n + 1;
		if failure_mode == "open" then
			decide(item, "allow");
			local gap = lane.gaps[item.user];
			if not gap then gap = { count = 0, since = now }; lane.gaps[item.user] = gap; end
			gap.count, gap["until"] = gap.count + 1, now;
		else
			decide(item, "deny", "wait", "remote-server-timeout", unavailable_text);
		end
		keys[item.key] = true;
	end
	-- ImLogger may have stored them all the same (it answered too late): tell it they were refused, so that the
	-- archive does not show them as delivered.
	if failure_mode == "closed" and n > 0 then
		lane.refusals[#lane.refusals + 1] = { request = id, count = n, reason = reason };
	end
	restore_reports(batch);
	if failure_mode == "open" then
		module:log("warn", "ImLogger unreachable (%s): %d held stanza(s) delivered UNLOGGED (fail-open); the gap is reported when it returns", reason, n);
	else
		module:log("warn", "%s (%s): %d held stanza(s) refused (fail-closed)", stopping and "Settling what is held" or "ImLogger unreachable", reason, n);
	end
	for key in pairs(keys) do release(key); end
	-- The report rides with the next request: when nothing else waits, one goes with the report alone, but not while
	-- the component is known to be down or the server stops (that request would bounce and fail here again, at once).
	local report_alone = #lane.waiting == 0 and not lane.down and not lane.away and not stopping;
	if (lane.blocked or report_alone) and lane.in_flight < max_in_flight then flush(lane); end
end

-- Fail-closed, while ImLogger is away (docs/inline-protocol.md, "While ImLogger is away"). A restart of ImLogger
-- takes seconds; refusing every held stanza at the first bounce would refuse every logged user's messages for that
-- long. Instead a request the server bounces because the component is not connected, or one in flight when the
-- component disconnects, is parked: its stanzas go back to `waiting`, in arrival order, and wait there. One probe
-- request per retry (short backoff) finds out whether ImLogger is back; the component authenticating again ends the
-- wait at once. A stanza is refused, as before, only once it has waited the timeout, or when the stanzas kept
-- together pass imlogger_away_max_bytes (the oldest first). ImLogger may have stored a parked request before it went
-- away without answering: it recognises the stanzas when they come again and archives them once.
local by_arrival = function (a, b) return a.n < b.n; end

local function refuse_waiting(lane, should_refuse, reason)
	local kept, keys, by_request, n = {}, {}, {}, 0;
	for _, item in ipairs(lane.waiting) do
		if should_refuse(item) then
			n = n + 1;
			lane.waiting_bytes = lane.waiting_bytes - item.size;
			decide(item, "deny", "wait", "remote-server-timeout", unavailable_text);
			keys[item.key] = true;
			-- ImLogger may have stored the request this stanza was last sent in: tell it the stanza was refused.
			if item.request then by_request[item.request] = (by_request[item.request] or 0) + 1; end
		else
			kept[#kept + 1] = item;
		end
	end
	if n == 0 then return 0; end
	lane.waiting = kept;
	for request, count in pairs(by_request) do
		lane.refusals[#lane.refusals + 1] = { request = request, count = count, reason = reason };
	end
	while #lane.refusals > 1000 do table.remove(lane.refusals, 1); end
	module:log("warn", "%s: %d held stanza(s) refused (fail-closed): %s", stopping and "Settling what is held" or "ImLogger unreachable", n, reason);
	for key in pairs(keys) do release(key); end
	return n;
end

-- Refuses what waited the timeout, then the oldest while the kept stanzas pass the memory bound.
local function expire_waiting(lane)
	local now = time_now();
	refuse_waiting(lane, function (item) return now - item.held_at >= timeout; end, "held "..timeout.." s while ImLogger was away");
	if lane.waiting_bytes > away_max_bytes then
		local bytes = lane.waiting_bytes;
		refuse_waiting(lane, function (item)
			if bytes <= away_max_bytes then return false; end
			bytes = bytes - item.size;
			return true;
		end, "over imlogger_away_max_bytes ("..away_max_bytes..") while ImLogger was away");
	end
end

local function retry(lane)
	lane.retry_scheduled = false;
	if not lane.away then return; end
	expire_waiting(lane);
	if #lane.waiting == 0 then return; end -- the next held stanza schedules the next probe
	lane.retry_delay = math.min(lane.retry_delay * 2, 2);
	flush(lane, true);
	if lane.away and not lane.retry_scheduled then
		lane.retry_scheduled = true;
		module:add_timer(lane.retry_delay, function () retry(lane); end);
	end
end

local function schedule_retry(lane)
	if lane.retry_scheduled then return; end
	lane.retry_scheduled = true;
	module:add_timer(lane.retry_delay, function () retry(lane); end);
end

local function went_away(lane, reason)
	if not lane.away then
		lane.away, lane.retry_delay = true, 0.25;
		module:log("warn", "ImLogger is not connected (%s): held stanzas wait for it, up to %s s each and %d bytes together (fail-closed)%s",
			reason, tostring(timeout), away_max_bytes, #lanes > 1 and (" ["..lane.component.."'s share]") or "");
	end
	schedule_retry(lane);
end

local function came_back(lane, reason)
	if not lane.away then return; end
	lane.away = false;
	module:log("info", "ImLogger is back (%s): sending the %d stanza(s) held meanwhile%s", reason, #lane.waiting,
		#lanes > 1 and (" ["..lane.component.."]") or "");
	-- Also when nothing waits: the refusals made while it was away go to it now, not with some later message (ImLogger
	-- marks what it had stored of them NOT DELIVERED; the transcript may be delivered before a later message comes).
	if #lane.waiting > 0 or lane.refusals[1] or next(lane.gaps) then flush(lane); end
end

-- A request whose verdicts cannot come (the component is away): its stanzas wait again.
local function park(id, reason)
	local batch = batches[id];
	if not batch then return; end
	local lane = batch.lane;
	batches[id] = nil;
	lane.in_flight = lane.in_flight - 1;
	module:log("debug", "Parked request %s (%s): its stanzas wait for ImLogger", id, reason);
	for _, item in pairs(batch.items) do
		lane.waiting[#lane.waiting + 1] = item;
		lane.waiting_bytes = lane.waiting_bytes + item.size;
	end
	table.sort(lane.waiting, by_arrival);
	restore_reports(batch);
	went_away(lane, reason);
end

-- Gap and refusal reports ride with a request while they fit in `room` bytes; the rest wait for the next one.
local function add_reports(lane, request, batch, room)
	for user, gap in pairs(lane.gaps) do
		local tag = st.stanza("gap", { user = user, count = tostring(gap.count), since = gap.since, ["until"] = gap["until"] });
		local size = #tostring(tag);
		if size > room then break; end
		room = room - size;
		request:add_child(tag);
		batch.gaps[user], lane.gaps[user] = gap, nil;
	end
	while lane.refusals[1] do
		local r = lane.refusals[1];
		local tag = st.stanza("refused", { request = r.request, count = tostring(r.count), reason = r.reason });
		local size = #tostring(tag);
		if size > room then break; end
		room = room - size;
		request:add_child(tag);
		batch.refusals[#batch.refusals + 1] = table.remove(lane.refusals, 1);
	end
end

-- Fails the requests past their deadline; runs while any request awaits its verdicts.
local function sweep()
	local now, late = time_now(), nil;
	for id, batch in pairs(batches) do
		if now >= batch.deadline then late = late or {}; late[#late + 1] = id; end
	end
	if late then
		for _, id in ipairs(late) do fail(id, "no answer within "..timeout.." s"); end
	end
	if next(batches) == nil then sweeping = false; return; end
	return 0.25;
end

-- Requests as text (issue 16: Prosody's CPU per message). A request built as a tree (an iq, a batch, an item per held
-- stanza) is walked again by util.stanza when mod_component writes it: counted under lua5.4, that tree and its walk cost
-- 9-11 us per held stanza against 3 us for serialising the held stanza alone. So, while the component is connected, the
-- request is written as text: each held stanza serialised once by util.stanza (its escaping, unchanged), its <item>
-- wrapper written here with every attribute value escaped, and the whole written with the component session's own
-- send (what mod_component does with any stanza for it, minus the routing events on the way). While it is not
-- connected (no session: a restart, a failover, this module loaded before it came) and for a probe, the request is
-- routed as a tree as before, so that the server's bounce parks it. The text is the same XML either way
-- (InlineRequestTextTests compares them, hostile stanzas included); imlogger_raw_requests = false routes every request.
local raw_requests = module:get_option_boolean("imlogger_raw_requests", true);
local xml_escape, t_concat = st.xml_escape, table.concat;
local modulemanager_get = require "core.modulemanager".get_module;

-- The authenticated XEP-0114 session of the lane's component, or nil. mod_component keeps it in its per-host
-- environment (`session`, false while none is connected; the same field it routes stanzas for the component to).
local function component_session(lane)
	local env = modulemanager_get(lane.component, "component");
	local session = env and rawget(env, "session");
	if type(session) == "table" and session.type == "component" and not session.destroyed and session.send then return session; end
	return nil;
end

local function request_head(id, lane)
	return "<iq type='set' id='"..xml_escape(id).."' from='"..xml_escape(module.host).."' to='"..xml_escape(lane.component)
		.."'><batch xmlns='"..xmlns.."' verdicts='compact'>";
end

-- One held stanza in its <item>, as util.stanza would write the tree's item (attribute order aside). The stanza's
-- namespace is jabber:client while this runs (flush sets it).
local function item_text(item, to_local)
	return "<item id='"..xml_escape(item.id).."' direction='"..item.direction.."' user='"..xml_escape(item.user)
		.."' to-local='"..to_local.."'"
		..(item.forced and (" restricted='"..xml_escape(item.forced).."'") or "")
		..(item.occupant and (" occupant-jid='"..xml_escape(item.occupant).."'") or "")
		..">"..tostring(item.stanza).."</item>";
end

-- Sends what waits, in requests of at most batch_size stanzas and max_batch_bytes, at most max_in_flight awaiting
-- verdicts. While ImLogger is away nothing is sent but one request, the probe, when `probe` is true.
flush = function (lane, probe)
	lane.flush_scheduled = false;
	lane.blocked = false;
	if lane.away and not probe then schedule_retry(lane); return; end
	local oldest_age = 0;
	-- A request with reports alone (no stanza) when only reports wait and ImLogger is there.
	while #lane.waiting > 0 or (not lane.away and (lane.refusals[1] ~= nil or next(lane.gaps) ~= nil)) do
		-- A full request always goes (a backlog drains at full speed, as after ImLogger is back); a partial one waits.
		if not probe and lane.in_flight >= max_in_flight and #lane.waiting < batch_size then lane.blocked = true; break; end
		local id = "imlogger-"..new_id();
		local request = st.iq({ type = "set", id = id, from = module.host, to = lane.component })
			:tag("batch", { xmlns = xmlns, verdicts = "compact" });
		-- Written as text straight to the component's connection when there is one (see "Requests as text"), else routed.
		local session = not probe and raw_requests and component_session(lane);
		local text = session and { request_head(id, lane) } or nil;
		local batch = { items = {}, gaps = {}, refusals = {}, lane = lane };
		-- Split by bytes too: the request plus its closing tags, then each item as hold() measured it.
		local bytes = size_bound(request) + 32;
		local count = 0;
		while lane.waiting[count + 1] and count < batch_size and (count == 0 or bytes + lane.waiting[count + 1].size <= max_batch_bytes) do
			count = count + 1;
			local item = lane.waiting[count];
			lane.waiting_bytes = lane.waiting_bytes - item.size;
			bytes = bytes + item.size;
			batch.items[item.id] = item;
			item.request = id;
			if count == 1 then oldest_age = time_now() - item.held_at; end
			local stanza = item.stanza;
			local to = stanza.attr.to;
			local to_local = (to == nil or hosts[jid_host(to)] ~= nil) and "true" or "false";
			-- On the component stream an unqualified child would read as jabber:component:accept. The held stanza
			-- itself goes in the request (not a copy): its namespace is set for the serialisation and restored after.
			item.xmlns = stanza.attr.xmlns;
			stanza.attr.xmlns = "jabber:client";
			if text then
				text[#text + 1] = item_text(item, to_local);
				stanza.attr.xmlns = item.xmlns;
			else
				request:tag("item", { id = item.id, direction = item.direction, user = item.user, ["to-local"] = to_local, restricted = item.forced,
					["occupant-jid"] = item.occupant })
					:add_child(stanza):up();
			end
		end
		-- Out of `waiting` before sending: a bounce parks the request at once, putting its stanzas back.
		local left = #lane.waiting;
		table.move(lane.waiting, count + 1, left, 1);
		for i = left - count + 1, left do lane.waiting[i] = nil; end
		if text then request = st.stanza("reports"); end -- the reports' holder: only its children are written
		add_reports(lane, request, batch, max_batch_bytes - bytes);
		batches[id] = batch;
		lane.in_flight = lane.in_flight + 1;
		-- The timeout counts from when the oldest stanza was held (it may have waited for ImLogger already), with a
		-- second at least for the round trip.
		batch.deadline = time_now() + math.max(1, timeout - oldest_age);
		if not sweeping then
			sweeping = true;
			module:add_timer(0.25, sweep);
		end
		module:log("debug", "Sent request %s: %d stanza(s)%s", id, count, probe and " (probe)" or "");
		if text then
			-- The reports (rare, small) as util.stanza writes them, then the closing tags; one write.
			for _, report in ipairs(request.tags) do text[#text + 1] = tostring(report); end
			text[#text + 1] = "</batch></iq>";
			session.send(t_concat(text));
		else
			-- While the component is not connected the server bounces this at once (park() puts it back and sets `away`).
			-- Serialised on the way (XEP-0114 writes at once), so the held stanzas get their namespace back right after.
			local ok, err = pcall(module.send, module, request);
			for _, item in pairs(batch.items) do item.stanza.attr.xmlns = item.xmlns; end
			if not ok then error(err, 0); end
		end
		if prof then
			prof.count.requests, prof.count.sent_items = prof.count.requests + 1, prof.count.sent_items + count;
			-- Latency split (wall clock): how long each stanza waited here before its request went, and the round trip.
			local now = time_now();
			batch.sent_at = now;
			for _, item in pairs(batch.items) do prof.waits[#prof.waits + 1] = now - item.held_at; end
		end
		if lane.away or probe or count == 0 then break; end
	end
end
flush = profiled("flush", flush);

-- A stanza too large for any verdict request: refused by itself, whatever the failure mode (ImLogger could never
-- archive it), with a clear error to its sender and a notice to the logged user; it waits its turn in the queue so
-- that what the same session sent before it keeps its order.
local function refuse_too_large(item)
	local kind, size = item.stanza.name, item.size;
	local text = ("This %s is too large to be archived (%d bytes; the limit is %d), so it was not delivered: "):format(kind, size, max_batch_bytes)
		..(item.direction == "out" and "your conversations are logged for compliance." or item.user.." is logged for compliance.")
		.." Send it in smaller parts.";
	decide(item, "deny", "modify", "policy-violation", text);
	local other = item.direction == "out" and item.stanza.attr.to or item.stanza.attr.from;
	local notice = item.direction == "out"
		and ("Your %s%s was not delivered: it was too large (%d bytes) to be archived."):format(kind, other and (" to "..jid_bare(other)) or "", size)
		or ("A %s from %s to you was not delivered: it was too large (%d bytes) to be archived."):format(kind, other and jid_bare(other) or "someone", size);
	module:send(st.message({ from = item.lane.component, to = item.user, type = "chat", id = "imlogger-too-large-"..new_id() }):text_tag("body", notice));
	module:log("warn", "Refused %s %s of %s by itself: %d bytes, over imlogger_max_batch_bytes (%d)", item.direction, kind, item.user, size, max_batch_bytes);
end

-- Stanzas that pass unheld: shapes that cannot carry content BY CONSTRUCTION (fixed element names, no text, no
-- attribute a client fills with words; ids are opaque tokens, capped in length). Everything else is held. The same
-- list, with the reason for each, is in docs/inline-protocol.md ("Which stanzas are held"): keep them equal.
local max_token = 128;

-- "xmlns name" of a childless, textless payload -> the attributes it may carry besides xmlns.
local free_iq_payload = {
	get = {
		["urn:xmpp:ping ping"] = {},                                   -- XEP-0199
		["http://jabber.org/protocol/disco#info query"] = {},          -- XEP-0030 without node
		["http://jabber.org/protocol/disco#items query"] = {},
		["jabber:iq:roster query"] = { ver = true },                   -- RFC 6121 roster get (versioning token)
		["jabber:iq:version query"] = {},                              -- XEP-0092 question (the answer is held)
		["urn:xmpp:time time"] = {},                                   -- XEP-0202 question
		["jabber:iq:last query"] = {},                                 -- XEP-0012 question
	};
	set = {
		["urn:ietf:params:xml:ns:xmpp-session session"] = {},          -- RFC 3921 session establishment
		["urn:xmpp:carbons:2 enable"] = {},                            -- XEP-0280 switches
		["urn:xmpp:carbons:2 disable"] = {},
	};
};
-- Message children that say something happened to a message, never what it says.
local free_message_child = {
	["http://jabber.org/protocol/chatstates active"] = {},          -- XEP-0085
	["http://jabber.org/protocol/chatstates composing"] = {},
	["http://jabber.org/protocol/chatstates paused"] = {},
	["http://jabber.org/protocol/chatstates inactive"] = {},
	["http://jabber.org/protocol/chatstates gone"] = {},
	["urn:xmpp:receipts received"] = { id = true },                 -- XEP-0184
	["urn:xmpp:chat-markers:0 received"] = { id = true },           -- XEP-0333
	["urn:xmpp:chat-markers:0 displayed"] = { id = true },
	["urn:xmpp:chat-markers:0 acknowledged"] = { id = true },
	["urn:xmpp:hints no-store"] = {},                               -- XEP-0334
	["urn:xmpp:hints no-permanent-store"] = {},
	["urn:xmpp:hints no-copy"] = {},
	["urn:xmpp:hints store"] = {},
	["urn:xmpp:sid:0 origin-id"] = { id = true },                   -- XEP-0359
};
local stanza_errors = "urn:ietf:params:xml:ns:xmpp-stanzas";
local free_stanza_attr = { xmlns = true, id = true, type = true, to = true, from = true, ["xml:lang"] = true };

-- An element with no text, no children and no attribute outside `allowed` (ids no longer than max_token).
local function empty_element(el, allowed)
	if #el ~= #el.tags then return false; end -- a text node
	if #el.tags > 0 then return false; end
	for name, value in pairs(el.attr) do
		if name ~= "xmlns" and not allowed[name] then return false; end
		if #value > max_token then return false; end
	end
	return true;
end

local function only_whitespace_text(stanza)
	for _, child in ipairs(stanza) do
		if type(child) == "string" and child:find("%S") then return false; end
	end
	return true;
end

-- An error reply naming only a defined condition (RFC 6120 8.3.3), without text or application payload.
local function bare_error(stanza)
	if #stanza.tags ~= 1 or stanza.tags[1].name ~= "error" then return false; end
	local err = stanza.tags[1];
	for name in pairs(err.attr) do
		if name ~= "type" and name ~= "by" and name ~= "xmlns" then return false; end
	end
	if not only_whitespace_text(err) then return false; end
	for _, cond in ipairs(err.tags) do
		-- <gone/> and <redirect/> carry a URI a client chooses: not free.
		if cond.attr.xmlns ~= stanza_errors or cond.name == "text" or cond.name == "gone" or cond.name == "redirect"
			or not empty_element(cond, {}) then
			return false;
		end
	end
	return true;
end

-- The types RFC 6121 defines (nil: the default); any other value is words in an attribute.
local free_type = {
	message = { chat = true, normal = true, headline = true, groupchat = true, error = true },
	iq = { get = true, set = true, result = true, error = true },
	presence = { probe = true, error = true },
};
-- Whatever the shape, a content-free stanza is small: each free attribute (ids, xml:lang, the resource in `to`),
-- the whitespace between children and the children themselves are bounded together, so none of them is a text
-- channel of any length (a thousand receipts, a long xml:lang, spaces and tabs as bits, a made-up resource).
local max_free_bytes = 1024;

local function content_free_shape(stanza)
	for name, value in pairs(stanza.attr) do
		if not free_stanza_attr[name] then return false; end
		if name ~= "to" and name ~= "from" and #value > max_token then return false; end
	end
	local name, t = stanza.name, stanza.attr.type;
	local types = free_type[name];
	if not types or (t ~= nil and not types[t]) then return false; end
	if not only_whitespace_text(stanza) then return false; end
	if #stanza.tags > 8 or #stanza > 16 then return false; end
	if t == "error" then return bare_error(stanza); end
	if name == "iq" then
		if t == "result" then return #stanza.tags == 0; end
		local allowed = free_iq_payload[t];
		local payload = stanza.tags[1];
		if not allowed or #stanza.tags ~= 1 then return false; end
		local attrs = allowed[(payload.attr.xmlns or "").." "..payload.name];
		return attrs ~= nil and empty_element(payload, attrs);
	elseif name == "message" then
		if #stanza.tags == 0 then return false; end -- nothing at all: hold (cheap, and no shape to trust)
		local seen;
		for _, child in ipairs(stanza.tags) do
			local key = (child.attr.xmlns or "").." "..child.name;
			local attrs = free_message_child[key];
			-- Each at most once: a receipt repeated is a list of chosen ids, i.e. text.
			if not attrs or (seen and seen[key]) or not empty_element(child, attrs) then return false; end
			seen = seen or {};
			seen[key] = true;
		end
		return true;
	elseif name == "presence" then
		-- Probes ask for presence and carry none; every other presence (availability, status, caps, subscriptions,
		-- group chat joins and leaves) is held: ImLogger identifies clients and records joins from it.
		return t == "probe" and #stanza.tags == 0;
	end
	return false;
end

-- Measured only once the shape is known free and small: most stanzas a logged user sends carry a body and fail the
-- shape at once, so they are never serialised here (this was one serialisation per held stanza). The bound decides
-- without serialising; only a free shape the bound cannot place (over it, under it exactly) is serialised.
local function content_free(stanza)
	return content_free_shape(stanza) and (size_bound(stanza) <= max_free_bytes or #tostring(stanza) <= max_free_bytes);
end

-- `forced`: a restriction the module enforces itself ("encryption-disabled"); the stanza is held only so that ImLogger
-- archives the attempt, and is never routed.
-- Group chats (docs/inline-protocol.md, "Group chats: every occupant identified and told"). A room on this server whose
-- MUC component loads mod_imlogger_muc knows its occupants' real JIDs even where it hides them from the other occupants
-- (semi-anonymous rooms, Prosody's default): the real bare JID of the occupant a held stanza comes from (in) or goes to
-- (out) rides on its item as occupant-jid, so that ImLogger archives "nick (real JID)" and can tell every occupant.
local modulemanager = require "core.modulemanager";
local function occupant_real_jid(direction, stanza)
	local occupant_jid = direction == "in" and stanza.attr.from or stanza.attr.to;
	if not occupant_jid or not jid.resource(occupant_jid) then return nil; end
	local muc_side = modulemanager.get_module(jid_host(occupant_jid), "imlogger_muc");
	if not muc_side or not muc_side.occupant_real_jid then return nil; end
	local ok, real = pcall(muc_side.occupant_real_jid, occupant_jid);
	return ok and real or nil;
end

local function hold(direction, user, origin, stanza, key, forced)
	-- Hold a copy of what others send: senders reuse the stanza object (a room broadcast rewrites 'to' for each
	-- occupant). What a client sends is parsed for this session alone and goes nowhere else once held: no copy.
	if direction ~= "out" then stanza = st.clone(stanza); end
	-- Scaled out, the instance of this conversation; a session's stanzas keep their order per instance, so that one
	-- instance being away does not stop what the session says in conversations another instance archives.
	local lane = lanes[1];
	if #lanes > 1 then
		lane = route.lane_of_key(route.key(direction, user, stanza));
		key = key.."#"..lane.bucket;
	end
	next_item = next_item + 1;
	local item = { id = tostring(next_item), n = next_item, direction = direction, user = user, origin = origin, stanza = stanza, key = key,
		held_at = time_now(), forced = forced, lane = lane };
	item.occupant = occupant_real_jid(direction, stanza);
	-- Its size in a request: the stanza plus the <item> wrapper and the jabber:client declaration. An upper bound from the
	-- tree (size_bound) while it is far below the limits it is checked against; serialised, exactly, only beyond that
	-- (a large stanza: one serialisation, linear in its size, against a limit it may pass).
	local t0 = prof and prof.clock();
	local size = size_bound(stanza);
	if size > exact_size_from then size = #tostring(stanza); if prof then prof.count.exact = prof.count.exact + 1; end end
	if prof then prof.cpu.size, prof.calls.size, prof.count.held = prof.cpu.size + (prof.clock() - t0), prof.calls.size + 1, prof.count.held + 1; end
	item.size = size + #item.id + #user + 96 + (item.occupant and #item.occupant or 0);
	local queue = queues[key];
	if not queue then queue = {}; queues[key] = queue; end
	queue[#queue + 1] = item;
	if item.size > max_batch_bytes - 512 then
		refuse_too_large(item);
		release(key);
		return true;
	end
	lane.waiting[#lane.waiting + 1] = item;
	lane.waiting_bytes = lane.waiting_bytes + item.size;
	if lane.away and lane.waiting_bytes > away_max_bytes then expire_waiting(lane); end
	-- Back-pressure: a client that outruns ImLogger is read more slowly, not refused.
	if direction == "out" and #queue > max_held and origin.conn and not origin.imlogger_paused then
		origin.imlogger_paused = true;
		origin.conn:pause();
		module:log("debug", "Paused reading from %s: %d stanzas held", origin.full_jid or "?", #queue);
	end
	-- Held while this instance settles what it holds as it goes (fail-open: an allowed stanza released for a logged
	-- recipient is held again for them): it waits to be refused with the rest. A request sent now would never be
	-- answered to anyone, its stanzas neither routed nor refused (the in-flight requests were collected before).
	if settling then return true; end
	if lane.away then
		schedule_retry(lane);
	elseif #lane.waiting >= batch_size then
		flush(lane);
	elseif lane.in_flight == 0 and linger_in_flight_only then
		-- Nothing awaits verdicts: nobody to share a request with is on the way, so waiting would only add latency.
		if prof then prof.count.immediate = prof.count.immediate + 1; end
		flush(lane);
	elseif not lane.flush_scheduled then
		lane.flush_scheduled = true;
		module:add_timer(linger, function () flush(lane); end); -- not flush itself: a timer passes the time, which would read as `probe`
	end
	return true;
end

hold = profiled("hold", hold);

-- The server answers some iqs itself, straight to the asking session, without routing them (a contact's vCard,
-- private storage, PEP items): no hook sees those answers. While an allowed iq of a logged user is posted, its
-- session's send is wrapped so that an answer to it that carries content is held, and archived, like any
-- stanza for the user. Answers given later (asynchronous storage) are not seen: their request was held.
-- The same for a message: the server bounces one it cannot deliver (no such account, a room that is gone) straight to
-- the sender's session; that bounce is held even when bare, so that the transcript marks the message as bounced.
hold_server_answer = function (item, incoming)
	local origin, stanza = item.origin, item.stanza;
	local send, id = origin.send, stanza.attr.id;
	local kind = stanza.name;
	origin.send = function (reply)
		if reply.name == kind and reply.attr.id == id and not reply.imlogger_in
			and ((kind == "iq" and (reply.attr.type == "result" or reply.attr.type == "error") and not content_free(reply))
				or (kind == "message" and reply.attr.type == "error")) then
			reply.attr.from = reply.attr.from or item.user;
			reply.attr.to = reply.attr.to or origin.full_jid;
			return hold("in", item.user, origin, reply, "in:"..item.user);
		end
		return send(reply);
	end;
	local ok, err;
	if incoming then ok, err = pcall(core_post_stanza, origin, stanza);
	else ok, err = pcall(core_post_stanza, origin, stanza, origin.full_jid); end
	origin.send = send;
	if not ok then error(err, 0); end
end;

-- Outgoing: every stanza a client session sends passes pre-stanza before routing, whatever its `to` (another user,
-- a room, the server, the user's own bare JID: PEP and pubsub publishes, vCard, private storage; Prosody has
-- already cleared `to` for the latter).
module:hook("pre-stanza", profiled("outgoing", function (event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.imlogger_out or origin.type ~= "c2s" or not origin.username then return; end
	local user = origin.username.."@"..origin.host;
	if not is_logged(user) or stanza.attr.xmlns ~= nil then return; end
	if is_component(stanza.attr.to) then return; end
	if content_free(stanza) then
		-- A question to another account or a room (disco#items of a user lists the PEP node names it chose, last
		-- activity answers with a status text, a room's disco#info its description): the server answers it itself,
		-- straight to this session, so its answer is checked and held like the answer to a held iq.
		local t = stanza.attr.type;
		if stanza.name == "iq" and (t == "get" or t == "set") and stanza.attr.to and jid_split(stanza.attr.to) then
			stanza.imlogger_out = true;
			hold_server_answer({ origin = origin, stanza = stanza, user = user });
			return true;
		end
		return;
	end
	return hold("out", user, origin, stanza, "out:"..(origin.full_jid or tostring(origin)));
end), 1000);

-- Incoming: stanzas about to be delivered to a logged user (one of its sessions, its bare JID: offline storage,
-- subscriptions, iqs the server answers for it) from anyone else, including the server on another user's behalf
-- (PEP and pubsub notifications come from a user's bare JID or a pubsub service).
local function incoming(event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.imlogger_in then return; end
	local to = stanza.attr.to;
	if not to then return; end -- to self: held on the way out
	local user = jid_bare(to);
	if not is_logged(user) or is_component(stanza.attr.from) then return; end
	if origin.type == "c2s" and origin.username and origin.username.."@"..origin.host == user then return; end
	-- A message error with an id is the server (or a room) sending back a message the user sent: held even when bare, so
	-- that the transcript marks that message as bounced rather than said (docs/inline-protocol.md, "Passes unheld").
	local bounce = stanza.name == "message" and stanza.attr.type == "error" and stanza.attr.id;
	if not bounce and content_free(stanza) then return; end
	return hold("in", user, origin, stanza, "in:"..user);
end
incoming = profiled("incoming", incoming);
for _, kind in ipairs({ "message", "presence", "iq" }) do
	module:hook(kind.."/bare", incoming, 1000);
	module:hook(kind.."/full", incoming, 1000);
end

-- Encryption disabled for logged users (docs/inline-protocol.md, "Encryption disabled at the server"). The per-stanza
-- refusal in ImLogger stays as the second line; this keeps clients from offering encryption at all: a logged user
-- cannot publish, delete, configure or fetch OMEMO (0.3 and 2) or OpenPGP (XEP-0373) key nodes, peers cannot fetch a
-- logged user's, notifications of peers' key nodes never reach a logged user, and a logged user's existing key nodes
-- are deleted when a session binds. Each blocked stanza is answered (or dropped) here at once and held all the same,
-- marked, so that ImLogger archives the attempt as refused; it is never routed, whatever the verdict or failure mode.
local encryption_disabled = "encryption-disabled";
-- Lower-cased, whitespace removed: a node "EU.SIACS.conversations.axolotl.devicelist " is the same attempt.
local encryption_node_prefixes = { "eu.siacs.conversations.axolotl", "urn:xmpp:omemo:", "urn:xmpp:openpgp:" };

local function is_encryption_node(node)
	if type(node) ~= "string" then return false; end
	node = node:lower():gsub("%s", "");
	for _, prefix in ipairs(encryption_node_prefixes) do
		if node:sub(1, #prefix) == prefix then return true; end
	end
	return false;
end

-- A pubsub (any pubsub namespace: pubsub, #owner, #event) or disco payload naming a key node, on itself or one level
-- down (<publish node>, <items node>, <delete node>, <configure node>, <retract node>, <subscribe node>, ...).
local function names_encryption_node(stanza)
	for _, payload in ipairs(stanza.tags) do
		local ns = payload.attr.xmlns or "";
		if ns:sub(1, 31) == "http://jabber.org/protocol/pubs" or ns:sub(1, 32) == "http://jabber.org/protocol/disco" then
			if is_encryption_node(payload.attr.node) then return true; end
			for _, el in ipairs(payload.tags) do
				if is_encryption_node(el.attr.node) then return true; end
			end
		end
	end
	return false;
end

local own_keys_text = "Encryption is disabled for users whose conversations are archived for compliance: "
	.."OMEMO and OpenPGP keys cannot be published or fetched. Your messages are sent without end-to-end encryption.";

-- Sent by a logged user: a publish, delete, configure or fetch of key nodes (their own, a peer's, a pubsub service's).
module:hook("pre-stanza", function (event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.imlogger_out or origin.type ~= "c2s" or not origin.username or stanza.attr.xmlns ~= nil then return; end
	local user = origin.username.."@"..origin.host;
	if stanza.name ~= "iq" or not is_logged(user) or is_component(stanza.attr.to) or not names_encryption_node(stanza) then return; end
	local t = stanza.attr.type;
	if t == "get" or t == "set" then
		local reply = st.error_reply(stanza, "cancel", "not-allowed", own_keys_text, stanza.attr.to or user);
		reply.imlogger_in = true;
		origin.send(reply);
	end
	module:log("info", "Refused %s's %s naming an encryption key node (encryption disabled for logged users)", user, stanza.name);
	return hold("out", user, origin, stanza, "out:"..(origin.full_jid or tostring(origin)), encryption_disabled);
end, 1001);

-- For a logged user from anyone else: a fetch of their key nodes (to the bare or a full JID) is answered "not found";
-- a notification of a peer's key node (PEP event, last item on presence) is dropped.
local function incoming_keys(event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.imlogger_in then return; end
	local to = stanza.attr.to;
	if not to then return; end
	local user = jid_bare(to);
	if not is_logged(user) or is_component(stanza.attr.from) then return; end
	if origin.type == "c2s" and origin.username and origin.username.."@"..origin.host == user then return; end
	local t = stanza.attr.type;
	if stanza.name == "iq" then
		if (t ~= "get" and t ~= "set") or not names_encryption_node(stanza) then return; end
		local reply = st.error_reply(stanza, "cancel", "item-not-found",
			user.." is archived for compliance: encryption is disabled for them, they publish no OMEMO or OpenPGP keys.", to);
		reply.imlogger_in = true;
		module:send(reply);
	elseif stanza.name ~= "message" or t == "error" or not names_encryption_node(stanza) then
		return;
	end
	module:log("debug", "Dropped %s %s to %s naming an encryption key node (encryption disabled for logged users)", t or "", stanza.name, user);
	return hold("in", user, origin, stanza, "in:"..user, encryption_disabled);
end
for _, kind in ipairs({ "message", "iq" }) do
	module:hook(kind.."/bare", incoming_keys, 1001);
	module:hook(kind.."/full", incoming_keys, 1001);
end

-- A logged user's key nodes published before they were logged (or by another route) are deleted when a session binds,
-- so that no peer finds them and no client of theirs sees a device list to encrypt to. The deletion notifies the
-- node's subscribers, as any delete does.
-- Without mod_pep (disabled on purpose) the rest of this module must still load: holding is what matters most.
local pep_loaded, mod_pep = pcall(module.depends, module, "pep");
if not pep_loaded then
	module:log("warn", "mod_pep could not be loaded (%s): logged users' existing OMEMO/OpenPGP key nodes will not be deleted at sign-in", tostring(mod_pep));
	mod_pep = nil;
end
module:hook("resource-bind", function (event)
	local session = event.session;
	if not mod_pep or not session or not session.username then return; end
	local user = session.username.."@"..session.host;
	if not is_logged(user) then return; end
	local service = mod_pep.get_pep_service(session.username);
	local ok, nodes = service:get_nodes(true);
	if not ok or not nodes then return; end
	local doomed = {};
	for node in pairs(nodes) do
		if is_encryption_node(node) then doomed[#doomed + 1] = node; end
	end
	for _, node in ipairs(doomed) do
		local deleted, err = service:delete(node, true);
		if deleted then
			module:log("info", "Deleted %s's encryption key node %s at sign-in (encryption disabled for logged users)", user, node);
		else
			module:log("warn", "Could not delete %s's encryption key node %s at sign-in: %s", user, node, tostring(err));
		end
	end
end);

-- Errors that say the component is not there to answer (mod_component bounces with wait/remote-server-timeout and
-- <not-connected/>; other routes say it with these).
local s_gmatch = string.gmatch;
local component_away = { ["remote-server-timeout"] = true, ["service-unavailable"] = true,
	["remote-server-not-found"] = true, ["recipient-unavailable"] = true };

-- Verdicts (and errors bounced by the server while the component is not connected).
module:hook("iq/host", profiled("answer", function (event)
	local stanza = event.stanza;
	local batch = batches[stanza.attr.id];
	if not batch then return; end
	-- Only the instance the request went to answers it.
	local lane, from = batch.lane, stanza.attr.from or "";
	if lane_of[from] ~= lane and lane_of[jid_host(from) or ""] ~= lane then return; end
	if stanza.attr.type == "error" then
		local error_type, condition, text = stanza:get_error();
		local reason = (condition or "error")..(text and (": "..text) or "");
		-- Fail-open, scaled out: its share goes to the other instances until it is back (re-hash).
		if error_type == "wait" or component_away[condition] then lane.down = true; end
		if failure_mode == "closed" and (error_type == "wait" or component_away[condition]) then
			park(stanza.attr.id, reason);
		else
			fail(stanza.attr.id, reason);
		end
		return true;
	elseif stanza.attr.type ~= "result" then
		return;
	end
	batches[stanza.attr.id] = nil;
	lane.in_flight = lane.in_flight - 1;
	lane.down = false;
	if prof and batch.sent_at then prof.trips[#prof.trips + 1] = time_now() - batch.sent_at; end
	module:log("debug", "Verdicts for request %s", stanza.attr.id);
	if lane.away then came_back(lane, "it answered"); end
	local verdicts = stanza:get_child("verdicts", xmlns);
	local keys = {};
	if verdicts then
		-- Compact allows (asked for with verdicts="compact" on the batch): the plain allows as one list of item ids, so
		-- that Prosody's parser builds one element per answer instead of one per stanza; denies and allows with
		-- `unlogged` stay elements (an ImLogger that does not know the form answers with elements only).
		local allowed = verdicts.attr.allow;
		if allowed then
			for item_id in s_gmatch(allowed, "%S+") do
				local item = batch.items[item_id];
				if item then decide(item, "allow"); end
			end
		end
		for v in verdicts:childtags() do
			local item = batch.items[v.attr.item];
			if item and v.name == "allow" then
				decide(item, "allow");
				if log_all and v.attr.unlogged == "true" then unlogged[item.user] = clock(); end
			elseif item and v.name == "deny" then
				decide(item, "deny", v.attr.type or "cancel", v.attr.condition or "policy-violation", v:get_child_text("text"));
			end
		end
	end
	for _, item in pairs(batch.items) do
		if not item.verdict then
			decide(item, "deny", "cancel", "internal-server-error", "ImLogger returned no verdict for this stanza");
		end
		keys[item.key] = true;
	end
	for user, gap in pairs(batch.gaps) do
		module:log("info", "Reported to ImLogger: %d stanza(s) of %s passed unlogged between %s and %s", gap.count, user, gap.since, gap["until"]);
	end
	for key in pairs(keys) do release(key); end
	if lane.blocked and lane.in_flight < max_in_flight then flush(lane); end
	return true;
end), 1000);

-- ImLogger's seats changed (a reload, its start): users it said were over the limit may hold a seat now.
module:hook("iq-set/host/"..xmlns..":seats-changed", function (event)
	local stanza = event.stanza;
	if not is_component(stanza.attr.from) then return; end
	local n = 0;
	for _ in pairs(unlogged) do n = n + 1; end
	unlogged = {};
	module:log("info", "ImLogger's seats changed: the stanzas of %d user(s) it had left unlogged are held again", n);
	module:send(st.reply(stanza));
	return true;
end);

local close_gates; -- the sign-in gates' part of leaving (below, where the gates are)

-- Settles everything this instance holds, when it goes (the server stops, or the module is unloaded or reloaded): each
-- held stanza refused with an error its sender sees, and each request ImLogger may have stored reported as refused.
local function settle_everything(reason)
	-- Nothing more is sent (fail() would send what gathered at max_in_flight, adding requests while this walks them).
	max_in_flight = math.huge;
	stopping, settling = true, true;
	for _, lane in ipairs(lanes) do lane.blocked = false; end
	-- A stanza whose routing raises (another module's handler) must not leave the rest unsettled, nor make save fail:
	-- Prosody would then abort the reload and keep this instance, settled half-way (stopping, no limit in flight).
	local function guarded(f, ...)
		local ok, err = pcall(f, ...);
		if not ok then module:log("error", "Settling what is held (%s): %s", reason, tostring(err)); end
	end
	-- Rounds: releasing what a round settles may hold more (fail-open, an allowed stanza for a logged recipient, after
	-- its lane's waiting stanzas were refused); the next round refuses it.
	for _ = 1, 3 do
		local ids = {};
		for id in pairs(batches) do ids[#ids + 1] = id; end
		for _, id in ipairs(ids) do guarded(fail, id, reason); end
		for _, lane in ipairs(lanes) do guarded(refuse_waiting, lane, function () return true; end, reason); end
		local left = next(batches) ~= nil;
		for _, lane in ipairs(lanes) do left = left or #lane.waiting > 0; end
		if not left then break; end
	end
	settling = false;
end
module:hook_global("server-stopping", function () settle_everything("server stopping"); end);

-- Proof of life (docs/inline-protocol.md, "Proving the adapter is loaded"). A later modules_enabled for this
-- VirtualHost (a conf.d file read after the Include) unloads this module silently: ImLogger then logs nothing. So
-- the module tells ImLogger it is here when it loads, when the component connects, after a config reload and every
-- imlogger_heartbeat seconds; ImLogger reports a domain silent for two heartbeats. imlogger_generation (written by
-- `imlogger prosody-config`) tells it whether these are the rules of its config in force.
local module_version = "1";
-- Not a number, it failed the module's load: the server then ran without it, every stanza unheld.
local heartbeat = number_option("imlogger_heartbeat", 30, 0.001, nil, "seconds, more than 0");
local generation = module:get_option_string("imlogger_generation", "");

local function held_count(lane)
	local n = #lane.waiting;
	for _, batch in pairs(batches) do
		if batch.lane == lane then
			for _ in pairs(batch.items) do n = n + 1; end
		end
	end
	return n;
end

-- Scaled out, every instance is told (each proves the module is loaded for itself); `only` names one lane.
local function announce(reason, only)
	-- While the component is away the server bounces this with an error, which the iq/host handler above ignores.
	for _, lane in ipairs(lanes) do
		if not only or only == lane then
			module:send(st.iq({ type = "set", id = "imlogger-alive-"..new_id(), from = module.host, to = lane.component })
				:tag("alive", { xmlns = xmlns, version = module_version, generation = generation,
					held = tostring(held_count(lane)), reason = reason }));
		end
	end
end

module:add_timer(0, function () announce("loaded"); end);
module:add_timer(heartbeat, function ()
	announce("heartbeat");
	return heartbeat;
end);

module:hook_global("config-reloaded", function ()
	generation = module:get_option_string("imlogger_generation", "");
	announce("reloaded");
end);

-- The components' hosts may be activated after this one: hook each one's connect event once it exists.
local function watch_component()
	for _, lane in ipairs(lanes) do
		if not lane.watching and hosts[lane.component] then
			lane.watching = true;
			module:hook_object_event(hosts[lane.component].events, "component-authenticated", function ()
				lane.down = false;
				module:add_timer(0, function () announce("connected", lane); came_back(lane, "it connected again"); end);
			end);
			-- Requests in flight when the component goes cannot be answered: fail-closed, they wait for it (park); fail-open
			-- keeps its behaviour (their timer delivers them unlogged), and scaled out gives its share to the others.
			module:hook_object_event(hosts[lane.component].events, "component-disconnected", function (event)
				-- Prosody fires this for every connection to the component port that ends, also a standby refused with conflict
				-- (docs/failover.md) or a wrong secret: only the end of the authenticated one parks what the connected one holds.
				if event.session and event.session.type ~= "component" then return; end
				if failure_mode ~= "closed" then
					lane.down = true;
					if #lanes > 1 then
						module:log("warn", "ImLogger %s is not connected: its share goes to the other instances meanwhile (fail-open re-hash)", lane.component);
					end
					return;
				end
				local ids = {};
				for id, batch in pairs(batches) do
					if batch.lane == lane then ids[#ids + 1] = id; end
				end
				for _, id in ipairs(ids) do park(id, "the component disconnected: "..tostring(event.reason)); end
				went_away(lane, "the component disconnected");
			end);
		end
	end
end
watch_component();
module:hook_global("host-activated", watch_component);

-- ─── Approved clients at sign-in (docs/inline-protocol.md, "Approved clients at sign-in") ────────────────────────────
-- With imlogger_check_clients (written by `imlogger prosody-config` for an organization with <approved-clients>), a
-- logged user's new session is asked its software version (XEP-0092) as soon as it binds a resource, and kept apart
-- until ImLogger has judged the answer: nothing is delivered to it (stanzas to its full JID and whatever the server
-- would send it directly wait) and nothing it sends is routed (it waits too). Approved: what waited is released through
-- the usual holds, in order. Refused (unapproved, too old, no answer within imlogger_client_timeout, an error, a huge
-- answer, a flood meanwhile): the session receives one message naming the approved clients and is closed with the
-- stream error policy-violation and the same text; what waited for it goes to the user's other sessions or offline
-- storage, held as usual. ImLogger archives the refused attempt before it answers. A client can lie about its version:
-- this keeps out what people install and forget to update, not a forger (see the protocol document).
do
	local check_clients = widening_switch("imlogger_check_clients");
	local client_timeout = number_option("imlogger_client_timeout", 10, 0.001, nil, "seconds, more than 0");
	local signin = {
		gates = {},          -- full JID -> gate of a session whose client is not judged yet (or is being closed)
		max_answer = 4096,   -- bytes of a version answer forwarded to ImLogger; beyond, it is refused as too large
		max_waiting = 100,   -- stanzas a session may send before it is judged; beyond, it is refused (flood)
		max_incoming = 200,  -- stanzas for it kept meanwhile; beyond, they are bounced
		unreachable = "ImLogger could not check which client you use (archiving is unavailable), so this session was closed. Sign in again in a moment.",
	};
	module:hook_global("config-reloaded", function ()
		check_clients = widening_switch("imlogger_check_clients");
		client_timeout = number_option("imlogger_client_timeout", 10, 0.001, nil, "seconds, more than 0");
	end);

	-- Opens the gate: what the session sent, then what was sent to it, go their usual way (held, archived, routed).
	function signin.admit(gate, why)
		if signin.gates[gate.full] ~= gate then return; end
		signin.gates[gate.full] = nil;
		gate.state = "admitted";
		module:log("info", "Client of %s admitted (%s): releasing %d stanza(s) it sent and %d for it", gate.full, why, #gate.out, #gate.incoming + #gate.direct);
		local session = gate.session;
		for _, stanza in ipairs(gate.out) do
			if session.destroyed then break; end
			core_post_stanza(session, stanza, session.full_jid);
		end
		for _, stanza in ipairs(gate.direct) do gate.send(stanza); end
		for _, held in ipairs(gate.incoming) do core_post_stanza(held.origin, held.stanza); end
		gate.out, gate.direct, gate.incoming = {}, {}, {};
	end

	-- Closes the session with ImLogger's text. The gate stays shut until the session is gone (resource-unbind), then what
	-- was sent to it is posted again: the server gives it to another session of the user or stores it offline.
	function signin.refuse(gate, text, why)
		if signin.gates[gate.full] ~= gate or gate.state == "closing" then return; end
		gate.state = "closing";
		module:log("warn", "Closing %s (%s): %s", gate.full, why, text);
		local notice = st.message({ from = gate.judge or component, to = gate.full, type = "chat", id = "imlogger-client-"..new_id() }):text_tag("body", text);
		gate.send(notice);
		gate.out, gate.direct = {}, {};
		gate.session:close({ condition = "policy-violation", text = text });
	end

	-- Asks ImLogger, retrying while it is away (a restart), until imlogger_timeout has passed since the question.
	function signin.ask(gate)
		if gate.asked then return; end
		gate.asked = true;
		if gate.timer then gate.timer:stop(); end
		local deadline = time_now() + timeout;
		local retry_or_fail; -- below: the component is away (a restart) or failed
		local function try()
			if signin.gates[gate.full] ~= gate or gate.state ~= "waiting" then return; end
			-- Scaled out, the instance that owns the conversation of the user with this host judges every session of theirs:
			-- it archives a refused sign-in there (docs/scale-out.md, "Approved clients at sign-in"). Fail-closed, while it is
			-- away the check waits for it as a single instance's does; fail-open, the next instance up judges, as with stanzas.
			gate.judge = route.lane_of_key(route.pair(gate.user, module.host)).component;
			local request = st.iq({ type = "set", id = "imlogger-client-"..new_id(), from = module.host, to = gate.judge })
				:tag("client-check", { xmlns = xmlns, user = gate.user, session = gate.full, answer = gate.answer,
					size = gate.size and tostring(gate.size) or nil });
			if gate.reply then request:add_child(gate.reply); end
			if gate.caps then request:add_child(gate.caps); end
			module:send_iq(request, nil, math.max(1, deadline - time_now())):next(function (event)
				-- send_iq resolves with the server's own bounce too (mod_component answers through the sending origin).
				if event.stanza.attr.type == "error" then
					local error_type, condition = event.stanza:get_error();
					return retry_or_fail({ type = error_type, condition = condition });
				end
				local verdict = event.stanza:get_child("client-verdict", xmlns);
				if verdict and verdict.attr.allow == "true" then
					signin.admit(gate, "ImLogger approved it");
				else
					signin.refuse(gate, verdict and verdict:get_child_text("text") or signin.unreachable, "ImLogger refused it: "..gate.answer);
				end
			end, function (err) return retry_or_fail(err); end);
		end
		retry_or_fail = function (err)
			local condition = type(err) == "table" and err.condition or tostring(err);
			local away_now = type(err) == "table" and (err.type == "wait" or component_away[condition]);
			-- Fail-open, scaled out: the judge is down, so the retry asks the next instance up (as a bounced request does).
			if away_now and failure_mode == "open" and #lanes > 1 and lane_of[gate.judge or ""] then lane_of[gate.judge].down = true; end
			if away_now and time_now() + 0.5 < deadline then
				module:add_timer(0.5, try);
			elseif failure_mode == "open" then
				module:log("warn", "ImLogger could not judge the client of %s (%s): admitted unchecked (fail-open)", gate.full, condition);
				signin.admit(gate, "fail-open, ImLogger unreachable");
			else
				signin.refuse(gate, signin.unreachable, "ImLogger did not judge it: "..condition);
			end
		end;
		try();
	end

	-- A logged user's session has bound a resource: ask it, and keep it apart until judged.
	module:hook("resource-bind", function (event)
		local session = event.session;
		if not check_clients or not session or not session.username or not session.full_jid then return; end
		local user = session.username.."@"..session.host;
		if not is_logged(user) then return; end
		local gate = { session = session, user = user, full = session.full_jid, state = "waiting", query = "imlogger-version-"..new_id(),
			out = {}, direct = {}, incoming = {} };
		signin.gates[gate.full] = gate;
		-- The question goes right after the bind result (this event fires before the server sends it), so that the
		-- client reads it as a bound session; on the next turn at the latest, should the bind result not be seen.
		local function ask_client()
			if gate.query_sent or signin.gates[gate.full] ~= gate then return; end
			gate.query_sent = true;
			gate.send(st.iq({ type = "get", id = gate.query, from = module.host, to = gate.full }):query("jabber:iq:version"));
			gate.timer = module:add_timer(client_timeout, function ()
				if signin.gates[gate.full] == gate and not gate.answer then
					gate.answer = "none";
					signin.ask(gate);
				end
			end);
			module:log("debug", "Asked the client of %s its version; the session waits for ImLogger's judgement", gate.full);
		end
		gate.ask_client = ask_client;
		signin.wrap_send(gate, session);
		module:add_timer(0, ask_client);
	end, 10);

	module:hook("resource-unbind", function (event)
		local session = event.session;
		local gate = session and session.full_jid and signin.gates[session.full_jid];
		if not gate or gate.session ~= session then return; end
		signin.gates[gate.full] = nil;
		if gate.timer then gate.timer:stop(); end
		local incoming = gate.incoming;
		gate.incoming = {};
		local function post_again()
			for _, held in ipairs(incoming) do core_post_stanza(held.origin, held.stanza); end
		end
		-- While this instance goes, now: its timers never run once it is unloaded, and what waited would be lost unanswered.
		if signin.leaving then post_again(); elseif #incoming > 0 then module:add_timer(0, post_again); end
	end);

	-- Everything the session sends while it waits: its answer is read; the rest waits (dropped if it is refused).
	module:hook("pre-stanza", function (event)
		local origin, stanza = event.origin, event.stanza;
		if origin.type ~= "c2s" or not origin.full_jid then return; end
		local gate = signin.gates[origin.full_jid];
		if not gate or gate.session ~= origin then return; end
		if gate.state ~= "waiting" then return true; end
		local t = stanza.attr.type;
		if stanza.name == "iq" and not stanza.attr.xmlns and stanza.attr.id == gate.query and (t == "result" or t == "error") then
			if gate.answer then return true; end -- a second answer to the one question: the first counts
			local size = #tostring(stanza);
			if size > signin.max_answer then
				gate.answer, gate.size = "too-large", size;
			else
				gate.answer = t;
				gate.reply = st.clone(stanza);
				gate.reply.attr.xmlns = "jabber:client";
			end
			signin.ask(gate);
			return true;
		end
		-- The caps of its first presence (an initial presence, to nobody), if it comes before the answer.
		if stanza.name == "presence" and not gate.seen_presence and not stanza.attr.to and not t then
			gate.seen_presence = true;
			local c = stanza:get_child("c", "http://jabber.org/protocol/caps");
			if c and #tostring(c) <= 1024 then gate.caps = st.clone(c); end
		end
		if #gate.out >= signin.max_waiting then
			if not gate.answer then
				gate.answer = "flood";
				signin.ask(gate);
			end
			return true;
		end
		gate.out[#gate.out + 1] = stanza;
		return true;
	end, 2000);

	-- Stanzas routed to the session's full JID while it waits, from anyone (the server and ImLogger included).
	local function gate_incoming(event)
		local stanza = event.stanza;
		local gate = stanza.attr.to and signin.gates[stanza.attr.to];
		if not gate then return; end
		if #gate.incoming >= signin.max_incoming then
			local t = stanza.attr.type;
			if t ~= "error" and t ~= "result" then
				module:send(st.error_reply(stanza, "wait", "recipient-unavailable", "The recipient is signing in; try again in a moment.", module.host));
			end
			return true;
		end
		gate.incoming[#gate.incoming + 1] = { origin = event.origin, stanza = stanza };
		return true;
	end
	for _, kind in ipairs({ "message", "presence", "iq" }) do
		module:hook(kind.."/full", gate_incoming, 2000);
	end

	-- What the server sends the session itself, without routing (roster pushes, replies to its own requests), waits too.
	-- The wrapper stays (another module may wrap send after it); once the gate is open it only passes through.
	function signin.wrap_send(gate, session)
		gate.send = session.send;
		session.send = function (stanza)
			if signin.gates[gate.full] == gate and type(stanza) == "table" and not stanza.attr.xmlns
				and (stanza.name == "message" or stanza.name == "presence" or stanza.name == "iq") then
				if not gate.query_sent and stanza.name == "iq" and stanza.attr.type == "result"
					and stanza:get_child("bind", "urn:ietf:params:xml:ns:xmpp-bind") then
					local ok = gate.send(stanza);
					gate.ask_client();
					return ok;
				end
				if gate.state == "waiting" and #gate.direct < signin.max_incoming then gate.direct[#gate.direct + 1] = stanza; end
				return true;
			end
			return gate.send(stanza);
		end;
	end

	-- XEP-0198: a session that resumes (mod_smacks) keeps its gate and stays unjudged until ImLogger answers. Resumption
	-- gives the session the new connection's send and close, which would bypass the wrapper above (whatever the server
	-- sends it directly would reach a client nobody judged) and leave the gate sending the one message of a refusal, and
	-- what waited for an approved client, into the dead connection. So the wrapper goes round the new send again. A
	-- session ImLogger refused cannot be resumed: the close revokes its resumption token (mod_smacks, pre-session-close).
	module:hook("smacks-hibernation-end", function (event)
		local session = event.resumed;
		local gate = session and session.full_jid and signin.gates[session.full_jid];
		if not gate or gate.session ~= session then return; end
		module:log("info", "Session %s resumed (XEP-0198) while its client is %s: still kept apart until judged", gate.full,
			gate.state == "waiting" and "not judged yet" or "being closed");
		signin.wrap_send(gate, session);
	end);

	-- The module goes (unloaded, or reloaded for an upgrade): the next instance knows nothing of these gates, so a session
	-- still waiting for its verdict would be let through unjudged. It is closed instead, as when ImLogger cannot judge it.
	-- What was sent to the session while it waited is posted again at once (resource-unbind, as the close destroys it),
	-- before the held stanzas are settled: it goes to the user's other sessions or offline storage, held and then refused
	-- like the rest, so its sender is told. A gate whose session outlives the close gives up what waited here too.
	function close_gates(reason)
		signin.leaving = true;
		local gates = {};
		for _, gate in pairs(signin.gates) do gates[#gates + 1] = gate; end
		for _, gate in ipairs(gates) do
			if gate.state == "waiting" then
				-- What it sent meanwhile was never judged nor sent: each message and request is refused as a held stanza is,
				-- so that its client shows them as not sent rather than sent (the close alone says nothing of them).
				for _, stanza in ipairs(gate.out) do
					local t = stanza.attr.type;
					if (stanza.name == "message" and t ~= "error") or (stanza.name == "iq" and (t == "get" or t == "set")) then
						local reply = st.error_reply(stanza, "wait", "remote-server-timeout", unavailable_text, component);
						reply.imlogger_in = true;
						gate.send(reply);
					end
				end
				signin.refuse(gate, signin.unreachable, reason);
			end
		end
		for full, gate in pairs(signin.gates) do
			signin.gates[full] = nil;
			if gate.timer then gate.timer:stop(); end
			for _, held in ipairs(gate.incoming) do core_post_stanza(held.origin, held.stanza); end
			gate.incoming = {};
		end
	end
end

-- ─── Unload and reload (`module:reload("imlogger_inline")` after an upgrade, `module:unload`) ──────────────────────────
-- Hooks and timers go with this instance: what it holds would wait for ever, neither routed nor refused, and its
-- senders would see nothing. So everything held is refused at once (the sender's client shows the error; try again in
-- a moment), as at a server stop, and a session whose client is being judged is closed. The refusal reports (which
-- requests ImLogger may have stored but nobody received) and the gap reports go to the next instance, which sends them
-- with its first request, so that the archive marks them; Prosody calls save before unload, so the settling happens
-- there on a reload (and in unload, with nothing left to do, after it).
local function leaving(reason)
	-- The gates first: closing a session posts again what waited for it, which is then held, and settled below.
	if close_gates then
		local ok, err = pcall(close_gates, reason);
		if not ok then module:log("error", "Closing the sessions whose client is being judged (%s): %s", reason, tostring(err)); end
	end
	settle_everything(reason);
end

-- The reports are kept in the server's memory (per host), not in what save returns: the next instance takes them when
-- it loads, whether that is the reload's (restore is only called when it loaded) or a later `module:load` after an
-- unload, or after a reload whose new code failed to load (an upgrade rolled back). Only the Prosody process holds them.
local carried_over = prosody.imlogger_inline_carried or {};
prosody.imlogger_inline_carried = carried_over;

-- One user's gap added to a list of gaps: the stanzas counted together, the period from the earliest to the latest.
local function merge_gap(gaps, user, gap)
	local current = gaps[user];
	if not current then gaps[user] = gap; return; end
	current.count = current.count + gap.count;
	if (gap.since or "~") < (current.since or "~") then current.since = gap.since; end
	if (gap["until"] or "") > (current["until"] or "") then current["until"] = gap["until"]; end
end

local function keep_reports()
	local kept, n = carried_over[module.host] or {}, 0;
	for _, lane in ipairs(lanes) do
		local into = kept[lane.component] or { refusals = {}, gaps = {} };
		kept[lane.component] = into;
		for _, r in ipairs(lane.refusals) do into.refusals[#into.refusals + 1] = r; n = n + 1; end
		-- Bounded as a lane's are (reloads while an instance stays away must not grow this without end).
		while #into.refusals > 1000 do table.remove(into.refusals, 1); end
		for user, gap in pairs(lane.gaps) do merge_gap(into.gaps, user, gap); end
		lane.refusals, lane.gaps = {}, {};
	end
	carried_over[module.host] = kept;
	return n;
end

function module.save()
	leaving("module reloaded");
	keep_reports();
	return {};
end

-- A plain unload may have no next instance: the reports go to ImLogger now, while its component is connected (it marks
-- what they name when it reads them; nobody needs its answer); what could not be sent waits for the next load.
function module.unload()
	leaving(module.reloading and "module reloaded" or "module unloaded");
	-- On a reload, what this second settling found (nothing, unless something was held since save) joins what save kept.
	if module.reloading then keep_reports(); return; end
	for _, lane in ipairs(lanes) do
		-- A request of reports alone; what the server bounces comes back to the lane.
		if (lane.refusals[1] or next(lane.gaps)) and not lane.away and component_session(lane) then flush(lane); end
	end
	local n = keep_reports();
	if n > 0 then module:log("warn", "Unloaded with %d refusal report(s) ImLogger could not be sent: the next load of the module reports them", n); end
end

-- Reports for an ImLogger instance no longer in imlogger_components (scale-out, the list changed between two
-- instances of this module): only that instance stored the requests they name (another ignores them), so they go to it
-- while its component is still connected, in one request of reports alone whose answer nobody needs; else they are
-- kept for a later load of the module, should its list name that instance again.
local function report_to_removed(component, reports)
	local lane = new_lane(component, 0);
	for _, r in ipairs(reports.refusals) do lane.refusals[#lane.refusals + 1] = r; end
	for user, gap in pairs(reports.gaps) do lane.gaps[user] = gap; end
	local session = component_session(lane);
	if session then
		local holder, batch = st.stanza("reports"), { gaps = {}, refusals = {} };
		add_reports(lane, holder, batch, max_batch_bytes - 512);
		local text = { request_head("imlogger-"..new_id(), lane) };
		for _, report in ipairs(holder.tags) do text[#text + 1] = tostring(report); end
		text[#text + 1] = "</batch></iq>";
		session.send(t_concat(text));
		module:log("info", "Sent %d refusal report(s) to %s, no longer in imlogger_components", #batch.refusals, component);
	end
	if lane.refusals[1] or next(lane.gaps) then
		local kept = carried_over[module.host] or {};
		carried_over[module.host] = kept;
		while #lane.refusals > 1000 do table.remove(lane.refusals, 1); end
		kept[component] = { refusals = lane.refusals, gaps = lane.gaps };
		module:log("warn", "%d refusal report(s) for %s, no longer in imlogger_components and not connected, are kept for a later load",
			#lane.refusals, component);
	end
end

-- Reports of a previous instance (a reload's save, or an unload's keeping), each to its lane. Returns how many refusals.
local function take_reports(carried)
	if type(carried) ~= "table" then return 0; end
	local n = 0;
	for component, reports in pairs(carried) do
		local lane = lane_of[component];
		local refusals = type(reports) == "table" and type(reports.refusals) == "table" and reports.refusals or {};
		local gaps = type(reports) == "table" and type(reports.gaps) == "table" and reports.gaps or {};
		if not lane then
			report_to_removed(component, { refusals = refusals, gaps = gaps });
		else
			for _, r in ipairs(refusals) do lane.refusals[#lane.refusals + 1] = r; n = n + 1; end
			while #lane.refusals > 1000 do table.remove(lane.refusals, 1); end
			for user, gap in pairs(gaps) do merge_gap(lane.gaps, user, gap); end
		end
	end
	return n;
end

-- They ride with the next request; if none comes, with one of their own now (unless ImLogger is away: a request of
-- reports alone bounced is parked, and they go when it connects again).
local function report_carried(n)
	if n > 0 then module:log("info", "Carried over from the previous instance: %d refusal report(s) for ImLogger", n); end
	for _, lane in ipairs(lanes) do
		if (#lane.refusals > 0 or next(lane.gaps)) and not lane.away and not lane.down then flush(lane); end
	end
end

-- What an instance of the first version that carried reports (in what save returned) hands over on an upgrade.
function module.restore(saved)
	report_carried(take_reports(type(saved) == "table" and saved.imlogger_reports));
end

do
	local kept = carried_over[module.host];
	carried_over[module.host] = nil;
	if kept then report_carried(take_reports(kept)); end
end

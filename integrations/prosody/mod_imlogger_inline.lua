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
--   imlogger_timeout       = 10                        -- seconds to wait for a verdict
--   imlogger_batch_size    = 100                       -- stanzas per verdict request, at most
--   imlogger_max_held      = 500                       -- per session; beyond, stop reading from the client

local st = require "util.stanza";
local jid = require "util.jid";
local datetime = require "util.datetime";
local new_id = require "util.id".short;

local hosts = prosody.hosts;
local core_post_stanza = prosody.core_post_stanza;
local jid_bare, jid_host = jid.bare, jid.host;

local xmlns = "urn:imlogger:inline:0";
local component = module:get_option_string("imlogger_component");
if not component then
	error("imlogger_component is not set: give the JID of the ImLogger component, e.g. \"archive.example.test\"");
end
local logged = module:get_option_set("imlogger_logged_users", {});
-- An organization logged by default: hold everyone on this host but the excluded; ImLogger decides who holds a
-- seat and passes the stanzas of the others unlogged and unrestricted.
local log_all = module:get_option_boolean("imlogger_log_all", false);
local excluded = module:get_option_set("imlogger_excluded_users", {});
local failure_mode = module:get_option_string("imlogger_failure_mode", "closed");
if failure_mode ~= "closed" and failure_mode ~= "open" then
	error("imlogger_failure_mode must be \"closed\" or \"open\", not "..tostring(failure_mode));
end
local timeout = module:get_option_number("imlogger_timeout", 10);
local batch_size = module:get_option_number("imlogger_batch_size", 100);
local max_held = module:get_option_number("imlogger_max_held", 500);

local unavailable_text = "Archiving is unavailable; your message was not sent. Try again in a moment.";

local waiting = {};      -- held items not yet sent to ImLogger, in arrival order
local batches = {};      -- request id -> { items = { [item id] = item }, gaps = {...}, timer = ... }
local queues = {};       -- queue key -> items in arrival order (release order)
local gaps = {};         -- logged user -> { count, since, until } (fail-open only)
local refusals = {};     -- requests refused on failure, not yet reported: { request, count, reason } (fail-closed only)
local flush_scheduled = false;
local next_item = 0;

-- With imlogger_log_all, users ImLogger said hold no seat (over the limit): not held, so that they neither wait for
-- ImLogger nor are refused while it is away. Forgotten when ImLogger says the seats changed, when the config is
-- reloaded, and after imlogger_unlogged_ttl seconds in any case (a lost message costs a round trip, no more).
local unlogged = {};     -- bare JID -> os.time() when ImLogger answered "not logged"
local unlogged_ttl = module:get_option_number("imlogger_unlogged_ttl", 300);

local function is_logged(user)
	if log_all then
		if jid_host(user) ~= module.host or excluded:contains(user) then return false; end
		local since = unlogged[user];
		if since and os.time() - since < unlogged_ttl then return false; end
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

module:log("info", "Holding the stanzas of %s for %s (fail-%s, timeout %s s)",
	describe_logged(), component, failure_mode, tostring(timeout));

-- ImLogger rewrites the logged users on a live reload of its own config (<attach rules-out="...">);
-- `prosodyctl reload` re-reads them here. Stanzas already held keep their verdicts.
module:hook_global("config-reloaded", function ()
	logged = module:get_option_set("imlogger_logged_users", {});
	log_all = module:get_option_boolean("imlogger_log_all", false);
	excluded = module:get_option_set("imlogger_excluded_users", {});
	unlogged = {};
	module:log("info", "Config reloaded: holding the stanzas of %s", describe_logged());
end);

-- Is this JID the component or something on its domain?
local function is_component(addr)
	return addr ~= nil and (addr == component or jid_host(addr) == component);
end

local function release(key)
	local queue = queues[key];
	local origin_of_queue = queue and queue[1] and queue[1].origin;
	while queue and queue[1] and queue[1].verdict do
		local item = table.remove(queue, 1);
		local stanza, origin = item.stanza, item.origin;
		if item.verdict == "allow" then
			if item.direction == "out" then
				stanza.imlogger_out = true;
				core_post_stanza(origin, stanza, origin.full_jid);
			else
				stanza.imlogger_in = true;
				core_post_stanza(origin, stanza);
			end
		else
			local t = stanza.attr.type;
			module:log("debug", "Refused %s %s of %s (%s): %s", item.direction, stanza.name, item.user, item.condition, item.text or "");
			if t ~= "error" and t ~= "result" then
				local reply = st.error_reply(stanza, item.error_type, item.condition, item.text, component);
				if item.direction == "out" then origin.send(reply); else module:send(reply); end
			end
		end
	end
	if origin_of_queue and origin_of_queue.imlogger_paused and (not queue or #queue <= max_held / 2) and origin_of_queue.conn then
		origin_of_queue.imlogger_paused = nil;
		origin_of_queue.conn:resume();
	end
	if queue and #queue == 0 then queues[key] = nil; end
end

local function decide(item, verdict, error_type, condition, text)
	item.verdict, item.error_type, item.condition, item.text = verdict, error_type, condition, text;
end

local function fail(id, reason)
	local batch = batches[id];
	if not batch then return; end
	batches[id] = nil;
	if batch.timer then batch.timer:stop(); end
	local n, keys, now = 0, {}, datetime.datetime();
	for _, item in pairs(batch.items) do
		n = n + 1;
		if failure_mode == "open" then
			decide(item, "allow");
			local gap = gaps[item.user];
			if not gap then gap = { count = 0, since = now }; gaps[item.user] = gap; end
			gap.count, gap["until"] = gap.count + 1, now;
		else
			decide(item, "deny", "wait", "remote-server-timeout", unavailable_text);
		end
		keys[item.key] = true;
	end
	-- ImLogger may have stored them all the same (it answered too late): tell it they were refused, so that the
	-- archive does not show them as delivered.
	if failure_mode == "closed" and n > 0 then
		refusals[#refusals + 1] = { request = id, count = n, reason = reason };
	end
	for _, r in ipairs(batch.refusals) do refusals[#refusals + 1] = r; end
	-- While ImLogger is away every request fails: keep the newest (it never saw the oldest anyway).
	while #refusals > 1000 do table.remove(refusals, 1); end
	-- Gaps this request carried were not acknowledged: report them again next time.
	for user, gap in pairs(batch.gaps) do
		local current = gaps[user];
		if current then
			current.count, current.since = current.count + gap.count, gap.since;
		else
			gaps[user] = gap;
		end
	end
	if failure_mode == "open" then
		module:log("warn", "ImLogger unreachable (%s): %d held stanza(s) delivered UNLOGGED (fail-open); the gap is reported when it returns", reason, n);
	else
		module:log("warn", "ImLogger unreachable (%s): %d held stanza(s) refused (fail-closed)", reason, n);
	end
	for key in pairs(keys) do release(key); end
end

local function flush()
	flush_scheduled = false;
	while #waiting > 0 do
		local id = "imlogger-"..new_id();
		local request = st.iq({ type = "set", id = id, from = module.host, to = component })
			:tag("batch", { xmlns = xmlns });
		local batch = { items = {}, gaps = gaps, refusals = refusals };
		gaps, refusals = {}, {};
		local count = 0;
		while #waiting > 0 and count < batch_size do
			local item = table.remove(waiting, 1);
			count = count + 1;
			batch.items[item.id] = item;
			local to = item.stanza.attr.to;
			local to_local = (to == nil or hosts[jid_host(to)] ~= nil) and "true" or "false";
			-- On the component stream an unqualified child would read as jabber:component:accept.
			local copy = st.clone(item.stanza);
			copy.attr.xmlns = "jabber:client";
			request:tag("item", { id = item.id, direction = item.direction, user = item.user, ["to-local"] = to_local })
				:add_child(copy):up();
		end
		for user, gap in pairs(batch.gaps) do
			request:tag("gap", { user = user, count = tostring(gap.count), since = gap.since, ["until"] = gap["until"] }):up();
		end
		for _, r in ipairs(batch.refusals) do
			request:tag("refused", { request = r.request, count = tostring(r.count), reason = r.reason }):up();
		end
		batches[id] = batch;
		batch.timer = module:add_timer(timeout, function() fail(id, "no answer within "..timeout.." s"); end);
		module:send(request);
	end
end

local function hold(direction, user, origin, stanza, key)
	-- Hold a copy: senders reuse the stanza object (a room broadcast rewrites 'to' for each occupant).
	stanza = st.clone(stanza);
	next_item = next_item + 1;
	local item = { id = tostring(next_item), direction = direction, user = user, origin = origin, stanza = stanza, key = key };
	local queue = queues[key];
	if not queue then queue = {}; queues[key] = queue; end
	queue[#queue + 1] = item;
	waiting[#waiting + 1] = item;
	-- Back-pressure: a client that outruns ImLogger is read more slowly, not refused.
	if direction == "out" and #queue > max_held and origin.conn and not origin.imlogger_paused then
		origin.imlogger_paused = true;
		origin.conn:pause();
		module:log("debug", "Paused reading from %s: %d stanzas held", origin.full_jid or "?", #queue);
	end
	if #waiting >= batch_size then
		flush();
	elseif not flush_scheduled then
		flush_scheduled = true;
		module:add_timer(0, flush);
	end
	return true;
end

-- Outgoing: every stanza a client session sends passes pre-stanza before routing.
module:hook("pre-stanza", function (event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.imlogger_out or origin.type ~= "c2s" or not origin.username then return; end
	local user = origin.username.."@"..origin.host;
	if not is_logged(user) or stanza.attr.xmlns ~= nil then return; end
	local t, to, name = stanza.attr.type, stanza.attr.to, stanza.name;
	if t == "error" or is_component(to) then return; end
	if name == "iq" and (t == "result" or to == nil or to == origin.host or jid_bare(to) == user) then return; end
	return hold("out", user, origin, stanza, "out:"..(origin.full_jid or tostring(origin)));
end, 1000);

-- Incoming: stanzas about to be delivered to a logged user's sessions.
local function incoming(event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.imlogger_in then return; end
	local t = stanza.attr.type;
	if t == "error" or (stanza.name == "iq" and t ~= "get" and t ~= "set") then return; end
	local to = stanza.attr.to;
	if not to then return; end -- to self: held on the way out
	local user = jid_bare(to);
	if not is_logged(user) or is_component(stanza.attr.from) then return; end
	if origin.type == "c2s" and origin.username and origin.username.."@"..origin.host == user then return; end
	return hold("in", user, origin, stanza, "in:"..user);
end
module:hook("message/bare", incoming, 1000);
module:hook("message/full", incoming, 1000);
module:hook("presence/full", incoming, 1000);
module:hook("iq/full", incoming, 1000);

-- Verdicts (and errors bounced by the server while the component is not connected).
module:hook("iq/host", function (event)
	local stanza = event.stanza;
	local batch = batches[stanza.attr.id];
	if not batch or not is_component(stanza.attr.from) then return; end
	if stanza.attr.type == "error" then
		local _, condition, text = stanza:get_error();
		fail(stanza.attr.id, (condition or "error")..(text and (": "..text) or ""));
		return true;
	elseif stanza.attr.type ~= "result" then
		return;
	end
	batches[stanza.attr.id] = nil;
	batch.timer:stop();
	local verdicts = stanza:get_child("verdicts", xmlns);
	local keys = {};
	if verdicts then
		for v in verdicts:childtags() do
			local item = batch.items[v.attr.item];
			if item and v.name == "allow" then
				decide(item, "allow");
				if log_all and v.attr.unlogged == "true" then unlogged[item.user] = os.time(); end
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
	return true;
end, 1000);

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

module:hook_global("server-stopping", function ()
	for id in pairs(batches) do fail(id, "server stopping"); end
end);

-- Proof of life (docs/inline-protocol.md, "Proving the adapter is loaded"). A later modules_enabled for this
-- VirtualHost (a conf.d file read after the Include) unloads this module silently: ImLogger then logs nothing. So
-- the module tells ImLogger it is here when it loads, when the component connects, after a config reload and every
-- imlogger_heartbeat seconds; ImLogger reports a domain silent for two heartbeats. imlogger_generation (written by
-- `imlogger prosody-config`) tells it whether these are the rules of its config in force.
local module_version = "1";
local heartbeat = module:get_option_number("imlogger_heartbeat", 30);
local generation = module:get_option_string("imlogger_generation", "");

local function held_count()
	local n = #waiting;
	for _, batch in pairs(batches) do
		for _ in pairs(batch.items) do n = n + 1; end
	end
	return n;
end

local function announce(reason)
	-- While the component is away the server bounces this with an error, which the iq/host handler above ignores.
	module:send(st.iq({ type = "set", id = "imlogger-alive-"..new_id(), from = module.host, to = component })
		:tag("alive", { xmlns = xmlns, version = module_version, generation = generation,
			held = tostring(held_count()), reason = reason }));
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

-- The component's host may be activated after this one: hook its connect event once it exists.
local watching_component = false;
local function watch_component()
	if watching_component or not hosts[component] then return; end
	watching_component = true;
	module:hook_object_event(hosts[component].events, "component-authenticated", function ()
		module:add_timer(0, function () announce("connected"); end);
	end);
end
watch_component();
module:hook_global("host-activated", watch_component);

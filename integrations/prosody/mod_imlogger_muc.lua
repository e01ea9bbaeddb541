-- mod_imlogger_muc: the group chat side of ImLogger's inline adapter, loaded on the MUC component(s) that logged users
-- use (Component "conference.example.test" "muc", modules_enabled = { "imlogger_muc" }). Prosody 0.12.
-- Protocol: docs/inline-protocol.md, "Group chats: every occupant identified and told".
--
-- In a semi-anonymous room (Prosody's default) the room hides its occupants' real JIDs from the other occupants, so a
-- logged user's copy of a room stanza names the sender by nickname only. The room itself knows them. This module
--   * answers mod_imlogger_inline (on the users' VirtualHost, same process) with the real bare JID behind an occupant
--     JID (room@service/nick), also for an occupant whose leave is being broadcast (the room forgets them first);
--     mod_imlogger_inline puts it on the held item as occupant-jid="...";
--   * delivers ImLogger's notices addressed to room@service/nick (from the component's JID exactly) to that occupant's
--     sessions, as a message from the room: ImLogger never writes to a hidden real JID itself.
--
-- Configuration:
--   imlogger_component = "archive.example.test"   -- ImLogger's component JID (required): only it may send notices

local st = require "util.stanza";
local jid = require "util.jid";
local time_now = require "util.time".now;
local jid_bare, jid_resource = jid.bare, jid.resource;

local component = module:get_option_string("imlogger_component");
if not component then
	-- Logged, not error(): a module that fails to load is skipped by Prosody 0.12 and the room runs on without it (as
	-- mod_imlogger_inline does with the same mistake).
	module:log("error", "imlogger_component is not set: give the JID of the ImLogger component, e.g. \"archive.example.test\", and reload");
	component = "imlogger-component-not-set.invalid";
end
-- Scaled out (docs/scale-out.md): every instance's component may send notices.
local components = module:get_option_set("imlogger_components", {});
module:hook_global("config-reloaded", function ()
	component = module:get_option_string("imlogger_component", component);
	components = module:get_option_set("imlogger_components", {});
end);

local mod_muc = module:depends("muc");

-- Occupant JID -> { jid = real bare JID, at = time }, for occupants whose presence the room broadcast lately. A leave is
-- broadcast after the room has removed the occupant, and a nickname change is broadcast as the old nick leaving: the
-- room can no longer name them, this can. Kept a minute, long enough for the broadcast to be held.
local recent = {};
local recent_count, recent_max, recent_ttl = 0, 10000, 60;

module:hook("muc-broadcast-presence", function (event)
	local occupant = event.occupant;
	if not occupant or not occupant.nick or not occupant.bare_jid then return; end
	if not recent[occupant.nick] then recent_count = recent_count + 1; end
	recent[occupant.nick] = { jid = occupant.bare_jid, at = time_now() };
	if recent_count > recent_max then
		-- A flood of joins and leaves: forget the oldest half rather than grow without bound.
		local cutoff = time_now() - recent_ttl / 2;
		for k, v in pairs(recent) do
			if v.at < cutoff then recent[k] = nil; recent_count = recent_count - 1; end
		end
	end
end, 1000);

module:add_timer(recent_ttl, function ()
	local cutoff = time_now() - recent_ttl;
	for k, v in pairs(recent) do
		if v.at < cutoff then recent[k] = nil; recent_count = recent_count - 1; end
	end
	return recent_ttl;
end);

-- Called by mod_imlogger_inline (a global of this module's environment, found with modulemanager.get_module): the real
-- bare JID of the occupant behind `occupant_jid` (room@service/nick), or nil when the room has no such occupant.
function occupant_real_jid(occupant_jid) -- luacheck: ignore 131
	if type(occupant_jid) ~= "string" or not jid_resource(occupant_jid) then return nil; end
	local room = mod_muc.get_room_from_jid(jid_bare(occupant_jid));
	local occupant = room and room:get_occupant_by_nick(occupant_jid);
	if occupant and occupant.bare_jid then return occupant.bare_jid; end
	local known = recent[occupant_jid];
	if known and time_now() - known.at < recent_ttl then return known.jid; end
	return nil;
end

-- ImLogger's notice to an occupant it knows by nickname: <message from="archive.example.test" to="room@service/nick">.
-- Delivered to each of the occupant's sessions as a groupchat message from the room itself (XEP-0045 "messages from the
-- room"), so the occupant's client shows it in the room. Only the component's own JID may do this; a message from
-- anyone else to an occupant goes on to the room as usual.
module:hook("message/full", function (event)
	local stanza = event.stanza;
	if stanza.attr.from ~= component and not components:contains(stanza.attr.from or "") then return; end
	if stanza.attr.type == "error" then return true; end -- nothing to bounce back to the component
	local room_jid = jid_bare(stanza.attr.to);
	local room = mod_muc.get_room_from_jid(room_jid);
	local occupant = room and room:get_occupant_by_nick(stanza.attr.to);
	if not occupant then
		module:log("info", "ImLogger's notice to %s was not delivered: no such occupant (they left)", stanza.attr.to);
		module:send(st.error_reply(stanza, "cancel", "item-not-found", "No such occupant", room_jid));
		return true;
	end
	local body = stanza:get_child_text("body");
	if not body then return true; end
	local n = 0;
	for real_jid in occupant:each_session() do
		n = n + 1;
		module:send(st.message({ from = room_jid, to = real_jid, type = "groupchat", id = stanza.attr.id })
			:text_tag("body", body));
	end
	module:log("debug", "Delivered ImLogger's notice to %s (%d session(s))", stanza.attr.to, n);
	return true;
end, 1000);

module:log("info", "Group chat side of ImLogger on %s: occupants' real JIDs for held stanzas, notices from %s to occupants",
	module.host, component);

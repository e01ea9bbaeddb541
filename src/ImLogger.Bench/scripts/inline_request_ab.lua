-- A/B of mod_imlogger_inline's per-request work outside Prosody's routing (docs/performance.md, "The request as text
-- and compact allows"): build and serialise a request of K chat messages, parse the answer with Prosody's own stream
-- parser, read the verdicts. "old": the request tree and allow elements (the module before); "new": request_head and
-- item_text loaded from the shipped module, and compact allows. Load-independent figures with callgrind:
--   valgrind --tool=callgrind lua5.4 inline_request_ab.lua old|new K R   (instructions of R requests minus those of 1)
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
local st = require "util.stanza"
local xmppstream = require "util.xmppstream"
local mode, K, ROUNDS = arg[1], tonumber(arg[2]), tonumber(arg[3])
local here = (arg[0]:match("^(.*)/[^/]*$") or ".")
local xml_escape, xmlns, t_concat = st.xml_escape, "urn:imlogger:inline:0", table.concat
local module = { host = "example.test" }
local src = io.open(here .. "/../../../integrations/prosody/mod_imlogger_inline.lua"):read("a")
local head_src = src:match("local function request_head%(id, lane%)\n.-\nend")
local item_src = src:match("local function item_text%(item, to_local%)\n.-\nend")
local env = setmetatable({ xml_escape = xml_escape, xmlns = xmlns, module = module, tostring = tostring }, { __index = _G })
local request_head, item_text = load(head_src .. "\n" .. item_src .. "\nreturn request_head, item_text", "fns", "t", env)()
local lane = { component = "archive.example.test" }
local items = {}
for i = 1, K do
  items[i] = { id = tostring(i), direction = "out", user = "alice@example.test",
    stanza = st.message({ from = "alice@example.test/bench", to = "bob@example.test", type = "chat", id = "r"..i }):text_tag("body", i.." 1234567890123") }
end
local parts = { "<iq type='result' id='imlogger-abcdefgh' from='archive.example.test' to='example.test'><verdicts xmlns='urn:imlogger:inline:0'" }
if mode == "new" then
  local ids = {}; for i = 1, K do ids[i] = tostring(i) end
  parts[#parts + 1] = " allow='" .. t_concat(ids, " ") .. "'/></iq>"
else
  parts[#parts + 1] = ">"
  for i = 1, K do parts[#parts + 1] = "<allow item='" .. i .. "'/>" end
  parts[#parts + 1] = "</verdicts></iq>"
end
local answer_text = t_concat(parts)
local got
local session = { notopen = true }
local stream = xmppstream.new(session, { streamopened = function (s) s.notopen = nil end, stream_ns = "http://etherx.jabber.org/streams", default_ns = "jabber:component:accept",
  error = function (_, e) error(e) end, handlestanza = function (_, s) got = s end })
stream:feed("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='x'>")
local sink = 0
local function one_request()
  local text
  if mode == "new" then
    local buf = { request_head("imlogger-abcdefgh", lane) }
    for i = 1, K do
      local it = items[i]; local s = it.stanza
      it.xmlns = s.attr.xmlns; s.attr.xmlns = "jabber:client"
      buf[#buf + 1] = item_text(it, "true")
      s.attr.xmlns = it.xmlns
    end
    local holder = st.stanza("reports")
    for _, r in ipairs(holder.tags) do buf[#buf + 1] = tostring(r) end
    buf[#buf + 1] = "</batch></iq>"
    text = t_concat(buf)
  else
    local request = st.iq({ type = "set", id = "imlogger-abcdefgh", from = module.host, to = lane.component }):tag("batch", { xmlns = xmlns })
    for i = 1, K do
      local it = items[i]; local s = it.stanza
      it.xmlns = s.attr.xmlns; s.attr.xmlns = "jabber:client"
      request:tag("item", { id = it.id, direction = it.direction, user = it.user, ["to-local"] = "true" }):add_child(s):up()
    end
    text = tostring(request)
    for i = 1, K do items[i].stanza.attr.xmlns = items[i].xmlns end
  end
  sink = sink + #text
  stream:feed(answer_text)
  local verdicts = got:get_child("verdicts", xmlns)
  local decided = 0
  local allowed = verdicts.attr.allow
  if allowed then for _ in string.gmatch(allowed, "%S+") do decided = decided + 1 end end
  for v in verdicts:childtags() do if v.name == "allow" then decided = decided + 1 end end
  assert(decided == K)
end
local t0 = os.clock()
for _ = 1, ROUNDS do one_request() end
print(("%s K=%d: %.2f us per stanza (os.clock), %d bytes per request"):format(mode, K, (os.clock() - t0) * 1e6 / ROUNDS / K, sink // ROUNDS))

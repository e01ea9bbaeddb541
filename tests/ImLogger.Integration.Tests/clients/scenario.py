#!/usr/bin/python3
"""Plays a scripted conversation with real XMPP clients (slixmpp), the way people would.

usage: scenario.py HOST PORT SCENARIO.json

SCENARIO.json: {"password": "pw", "steps": [STEP, ...]}, steps run one after another:
  {"as": "alice@example.test", "do": "connect"}
      optional: "software": {"name": "EvilClient", "version": "0.1"} (its XEP-0092 answer), "presence": "<presence>...</presence>"
      (sent instead of the plain initial presence, e.g. with caps), "iq_errors": true (iq errors are recorded like the others),
      "answer": {...} (how it answers jabber:iq:version instead of the plugin: "xml": the <query/> to answer with, "delay":
      seconds before answering, "after_resume": true answers once the session was resumed, "silent": true never answers, "error": true answers with an error, "second": another
      <query/> sent right after the first with the same id, "to": the address the answer is sent to instead of the asker's), "smacks": true (XEP-0198 stream management with
      resumption), "port": 5222 (sign in at this client port of HOST instead of
      PORT: a user of the other server in a federation test), "wait": "ready" (default) | "closed" (until the server closed
      the stream) | "none" (go on at once)
  {"as": "alice@example.test", "do": "expect_closed"}   # waits until the server closed alice's stream
  {"as": "alice@example.test", "do": "drop"}     # breaks the connection without closing the stream (connect with "smacks": true)
  {"as": "alice@example.test", "do": "resume"}   # connects again and resumes the session (XEP-0198)
  {"as": "alice@example.test", "do": "chat", "to": "bob@example.test", "body": "hi", "html": "<p>hi <img alt=':-)' src='x.png'/></p>"}
  {"as": "bob@example.test",   "do": "expect", "from": "alice@example.test", "body": "hi"}   # waits until received
  {"as": "alice@example.test", "do": "join", "room": "lobby@conference.example.test", "nick": "alice"}
      optional: "history": 20 (asks the room for up to that many history stanzas; none by default)
  {"as": "alice@example.test", "do": "groupchat", "room": "lobby@conference.example.test", "body": "hello room"}
  {"as": "alice@example.test", "do": "leave", "room": "lobby@conference.example.test", "nick": "alice"}
  {"as": "alice@example.test", "do": "send", "xml": "<message to='bob@example.test' type='chat'>...</message>"}
  {"as": "alice@example.test", "do": "expect_error", "from": "bob@example.test"}   # waits for an error reply
  {"as": "alice@example.test", "do": "try_join", "room": "r@conference.other.test", "nick": "alice"}  # no wait
  {"as": "alice@example.test", "do": "disconnect"}
  {"do": "sleep", "seconds": 0.5}
  {"as": "bob@example.test",   "do": "expect_raw", "contains": "VERSION-1"}  # waits for any stanza whose XML contains it
  {"do": "signal", "path": "/tmp/x/ready"}        # creates the file (tells the test a phase is done)
  {"do": "wait_file", "path": "/tmp/x/go"}        # waits until the test creates it
A stream error the server closed a client with is printed at the end too: {"closed": {"alice@example.test": {"condition": ..., "text": ...}}}.
Prints one JSON line per step done ({"step": i, "ok": true}) and, at the end, every message each
client received: {"received": {"bob@example.test": [{"from": ..., "type": ..., "body": ...}]}}, preceded by
every stanza each client received, as XML: {"raw": {"bob@example.test": ["<message ...>", ...]}}.
Exits 1 with a JSON error line if a step fails or times out.
"""
import asyncio
import json
import os
import re
import urllib.request
import xml.etree.ElementTree as ET
import sys

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

TIMEOUT = 15


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, software=None, presence=None, iq_errors=False, answer=None, smacks=False):
        super().__init__(jid, password)
        self.resumed = asyncio.Event()
        self.resume_failed = asyncio.Event()
        if smacks:
            # XEP-0198 with resumption: after "drop", "resume" signs in again and resumes the session instead of binding
            self.register_plugin("xep_0198")
            self.add_event_handler("session_resumed", lambda *_: self.resumed.set())
            self.add_event_handler("sm_failed", lambda *_: self.resume_failed.set())
        self.answer = answer
        self.closed = None  # the stream error the server closed the stream with
        self.gone = asyncio.Event()
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", lambda *_: self.gone.set())
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0071")
        self.register_plugin("xep_0199")
        # answers software version queries (ImLogger's approved-client check), as itself or as the step says
        self.register_plugin("xep_0092", {"software_name": software["name"], "version": software["version"]} if software else None)
        self.initial_presence = presence
        if iq_errors:
            self.register_handler(Callback("iq errors", StanzaPath("iq@type=error"), self.on_error))
        self.received = []
        self.raw = []  # every stanza, as XML: iq answers, presence, pubsub notifications, errors
        self.add_filter("in", self.on_any)
        self.arrived = asyncio.Event()
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("groupchat_message", self.on_message)
        self.add_event_handler("message_error", self.on_error)
        self.add_event_handler("presence_error", self.on_error)
        self.add_event_handler("failed_auth", lambda *_: self.fail("authentication failed"))
        self.error = None

    def fail(self, why):
        self.error = why
        self.ready.set()

    async def on_start(self, _):
        if self.initial_presence:
            self.send_raw(self.initial_presence)
        else:
            self.send_presence()
        await self.get_roster()
        self.ready.set()

    def on_any(self, stanza):
        self.raw.append(str(stanza))
        self.arrived.set()
        if self.answer is not None and stanza.name == "iq" and stanza["type"] == "get" and "jabber:iq:version" in str(stanza):
            asyncio.ensure_future(self.answer_version(stanza["id"], str(stanza["from"])))
            return None  # answered here, as the step says, not by the plugin
        return stanza

    async def answer_version(self, iq_id, to):
        a = self.answer
        if a.get("silent"):
            return
        if a.get("after_resume"):
            await self.resumed.wait()  # answers on the resumed connection (XEP-0198 tests)
        await asyncio.sleep(a.get("delay", 0))
        to = a.get("to", to)  # an answer addressed elsewhere (a hostile client): the server must take it all the same
        if a.get("error"):
            self.send_raw(f"<iq type='error' id='{iq_id}' to='{to}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        else:
            self.send_raw(f"<iq type='result' id='{iq_id}' to='{to}'>{a['xml']}</iq>")
        if "second" in a:
            self.send_raw(f"<iq type='result' id='{iq_id}' to='{to}'>{a['second']}</iq>")

    def on_stream_error(self, error):
        self.closed = {"condition": error["condition"], "text": error["text"]}
        self.arrived.set()

    def on_error(self, stanza):
        # Refusals: what the user's client shows ("error" with the condition and the server's text).
        self.received.append({"from": str(stanza["from"]), "type": "error", "kind": stanza.name,
                              "condition": stanza["error"]["condition"], "text": stanza["error"]["text"],
                              "body": stanza["body"] if stanza.name == "message" else ""})
        self.arrived.set()

    def on_message(self, msg):
        entry = {"from": str(msg["from"]), "type": msg["type"], "body": msg["body"]}
        if entry not in self.received or msg["type"] != "groupchat":
            self.received.append(entry)
        self.arrived.set()


async def wait_for(predicate, client):
    deadline = asyncio.get_event_loop().time() + TIMEOUT
    while not predicate():
        remaining = deadline - asyncio.get_event_loop().time()
        if remaining <= 0:
            raise TimeoutError("timed out")
        client.arrived.clear()
        try:
            await asyncio.wait_for(client.arrived.wait(), remaining)
        except asyncio.TimeoutError:
            pass


async def run(host, port, scenario):
    clients = {}
    password = scenario.get("password", "pw")
    for i, step in enumerate(scenario["steps"]):
        do = step["do"]
        who = step.get("as")
        c = clients.get(who)
        if do == "connect":
            # "as" may be a full JID: a second resource of the same user is a client of its own
            c = clients[who] = Client(who if "/" in who else who + "/" + step.get("resource", "test"), step.get("password", password),
                                      step.get("software"), step.get("presence"), step.get("iq_errors", False), step.get("answer"),
                                      step.get("smacks", False))
            c.address = (host, step.get("port", port))
            c.enable_starttls = False
            c.enable_direct_tls = False
            c.enable_plaintext = True
            # "port": the client port of another server (federation tests: each user signs in at their own server)
            c.connect(address=c.address, use_ssl=False, force_starttls=False, disable_starttls=True)
            wait = step.get("wait", "ready")
            if wait == "closed":
                await asyncio.wait_for(c.gone.wait(), TIMEOUT)
            elif wait == "ready":
                await asyncio.wait_for(c.ready.wait(), TIMEOUT)
            if c.error:
                raise RuntimeError(f"{who}: {c.error}")
        elif do == "chat":
            kw = {"mto": step["to"], "mbody": step["body"], "mtype": "chat"}
            if "html" in step:
                kw["mhtml"] = step["html"]
            c.send_message(**kw)
        elif do == "expect":
            def seen():
                return any(m["body"] == step["body"] and m["from"].startswith(step["from"]) for m in c.received)
            await wait_for(seen, c)
        elif do == "join":
            # No room history unless the step asks for it ("history": N stanzas), so most scenarios see only live traffic.
            await asyncio.wait_for(c.plugin["xep_0045"].join_muc_wait(step["room"], step["nick"], maxstanzas=step.get("history", 0)), TIMEOUT)
        elif do == "send":
            # A raw stanza, for payloads slixmpp has no plugin for (OMEMO, Jingle, ...).
            c.send_raw(step["xml"])
        elif do == "expect_error":
            def refused():
                return any(m["type"] == "error" and m["from"].startswith(step["from"]) for m in c.received)
            await wait_for(refused, c)
        elif do == "try_join":
            c.plugin["xep_0045"].join_muc(step["room"], step["nick"], maxhistory="0")
        elif do == "groupchat":
            c.send_message(mto=step["room"], mbody=step["body"], mtype="groupchat")
        elif do == "leave":
            c.plugin["xep_0045"].leave_muc(step["room"], step["nick"])
        elif do == "disconnect":
            c.disconnect()
            await c.disconnected
        elif do == "drop":
            # the connection breaks without a stream end (a phone losing its network): the server keeps a resumable session
            deadline = asyncio.get_event_loop().time() + TIMEOUT
            while c.plugin["xep_0198"].sm_id is None:  # resumable once the server said <enabled/> (a nonza: polled)
                if asyncio.get_event_loop().time() > deadline:
                    raise TimeoutError("stream management never enabled")
                await asyncio.sleep(0.05)
            c.gone.clear()
            c.abort()
            await asyncio.wait_for(c.gone.wait(), TIMEOUT)
        elif do == "resume":
            # "expect": "failed": the server must refuse to resume (a session it closed itself)
            c.resumed.clear()
            c.resume_failed.clear()
            c.gone.clear()
            c.connect(address=c.address, use_ssl=False, force_starttls=False, disable_starttls=True)
            done, _ = await asyncio.wait([asyncio.ensure_future(c.resumed.wait()), asyncio.ensure_future(c.resume_failed.wait())],
                                         timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            outcome = "resumed" if c.resumed.is_set() else "failed" if c.resume_failed.is_set() else "nothing"
            if outcome != step.get("expect", "resumed"):
                raise RuntimeError(f"{who}: resumption {outcome}, expected {step.get('expect', 'resumed')}")
        elif do == "expect_closed":
            await asyncio.wait_for(c.gone.wait(), TIMEOUT)
        elif do == "expect_raw":
            await wait_for(lambda: any(step["contains"] in x for x in c.raw), c)
        elif do == "error_back":
            # Answers the first stanza received whose XML contains "contains" with an error of the same id, sent to "to" (a
            # client claiming to bounce what it got: the server stamps the client's own full JID on it).
            first = next(x for x in c.raw if step["contains"] in x)
            stanza_id = ET.fromstring(first).get("id")
            c.send_raw(f"<message type='error' id='{stanza_id}' to='{step['to']}'><error type='cancel'>"
                       "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
        elif do == "signal":
            with open(step["path"], "w", encoding="utf-8"):
                pass
        elif do == "wait_file":
            deadline = asyncio.get_event_loop().time() + step.get("seconds", TIMEOUT)
            while not os.path.exists(step["path"]):
                if asyncio.get_event_loop().time() > deadline:
                    raise TimeoutError("no " + step["path"])
                await asyncio.sleep(0.1)
        elif do == "share_upload":
            # XEP-0363 as clients share a file: ask the upload service for a slot (name, size, type), PUT the bytes to the
            # slot's PUT URL, then send the GET URL as the body with XEP-0066 OOB (Conversations, Gajim, Dino do this).
            iq = c.make_iq_get(ito=step["service"])
            req = ET.SubElement(iq.xml, "{urn:xmpp:http:upload:0}request",
                                {"filename": step["filename"], "size": str(len(step["content"].encode())), "content-type": step["type"]})
            result = await iq.send(timeout=TIMEOUT)
            slot = result.xml.find("{urn:xmpp:http:upload:0}slot")
            put = slot.find("{urn:xmpp:http:upload:0}put")
            put_url = put.get("url")
            # the slot's own headers (Prosody's mod_http_file_share: Authorization: Bearer ...), as clients send them
            headers = {h.get("name"): h.text or "" for h in put.findall("{urn:xmpp:http:upload:0}header")}
            get_url = slot.find("{urn:xmpp:http:upload:0}get").get("url")
            if "http_port" in step:  # the server names itself in the URL; the test's server listens on loopback
                put_url = re.sub(r"^http://[^/]+", f"http://127.0.0.1:{step['http_port']}", put_url)
            request = urllib.request.Request(put_url, data=step["content"].encode(), method="PUT",
                                             headers={**headers, "Content-Type": step["type"], "Host": step["service"]})
            await asyncio.get_event_loop().run_in_executor(None, lambda: urllib.request.urlopen(request, timeout=TIMEOUT).read())
            msg = c.make_message(mto=step["to"], mbody=get_url, mtype="chat")
            oob = ET.SubElement(msg.xml, "{jabber:x:oob}x")
            ET.SubElement(oob, "{jabber:x:oob}url").text = get_url
            msg.send()
        elif do == "sleep":
            await asyncio.sleep(step["seconds"])
        else:
            raise ValueError(f"unknown step {do}")
        print(json.dumps({"step": i, "do": do, "ok": True}), flush=True)
    await asyncio.sleep(0.3)
    print(json.dumps({"closed": {jid: c.closed for jid, c in clients.items() if c.closed}}), flush=True)
    print(json.dumps({"raw": {jid: c.raw for jid, c in clients.items()}}), flush=True)
    print(json.dumps({"received": {jid: c.received for jid, c in clients.items()}}), flush=True)
    for c in clients.values():
        if c.is_connected():
            c.disconnect()


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, encoding="utf-8") as f:
        scenario = json.load(f)
    try:
        asyncio.get_event_loop().run_until_complete(run(host, port, scenario))
    except Exception as e:  # report, don't hang
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

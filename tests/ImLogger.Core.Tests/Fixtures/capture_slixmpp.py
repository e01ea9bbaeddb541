#!/usr/bin/python3
"""Writes event fixtures (tests/ImLogger.Core.Tests/Resources/events/*.xml) with the stanzas Debian's
python3-slixmpp itself builds through its plugins: nothing here is typed as XML by hand, the plugins
(xep_0045, xep_0249, xep_0066, xep_0096/0095, xep_0308, xep_0424, xep_0353, xep_0380, xep_0359, xep_0444)
serialize what they would put on the wire. Run with /usr/bin/python3 (slixmpp from the Debian package).

usage: capture_slixmpp.py OUTDIR
"""
import sys
import os

import slixmpp
from slixmpp import JID

ALICE = "alice@example.test/laptop"
BOB = "bob@example.test/phone"
ROOM = "lobby@conference.example.test"


class Capture(slixmpp.ClientXMPP):
    def __init__(self, jid):
        super().__init__(jid, "pw")
        self.sent = []
        for p in ["xep_0030", "xep_0045", "xep_0249", "xep_0066", "xep_0095", "xep_0096", "xep_0308",
                  "xep_0359", "xep_0424", "xep_0353", "xep_0380", "xep_0334", "xep_0428",
                  "xep_0047", "xep_0085", "xep_0184", "xep_0224", "xep_0050", "xep_0444"]:
            self.register_plugin(p)

    def send(self, data, *args, **kwargs):
        self.sent.append(data)

    def take(self):
        out, self.sent = self.sent, []
        return out


def fixture(outdir, name, source, stanzas):
    path = os.path.join(outdir, name + ".xml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("<?xml version='1.0'?>\n")
        f.write(f"<!-- Source: {source}\n     Written by tests/ImLogger.Core.Tests/Fixtures/capture_slixmpp.py "
                f"(Debian python3-slixmpp {slixmpp.__version__}); regenerate with it, do not edit by hand. -->\n")
        f.write("<stanzas xmlns='jabber:client'>\n")
        for s in stanzas:
            f.write(str(s) + "\n")
        f.write("</stanzas>\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    alice, bob = Capture(ALICE), Capture(BOB)
    for c in (alice, bob):
        c.boundjid = JID(ALICE if c is alice else BOB)

    # XEP-0249 direct invitation
    alice.plugin["xep_0249"].send_invitation(JID("bob@example.test"), JID(ROOM), reason="standup in 5", mfrom=JID(ALICE))
    fixture(out, "invitation-direct", "slixmpp xep_0249 send_invitation", alice.take())

    # XEP-0045 mediated invitation (client to room) and decline (client to room)
    alice.plugin["xep_0045"].invite(JID(ROOM), JID("bob@example.test"), "join us", mfrom=JID(ALICE))
    fixture(out, "invitation-mediated", "slixmpp xep_0045 invite (mediated, client to room)", alice.take())
    bob.plugin["xep_0045"].decline(JID(ROOM), JID("alice@example.test"), "busy", mfrom=JID(BOB))
    fixture(out, "invitation-declined", "slixmpp xep_0045 decline (mediated, client to room)", bob.take())

    # XEP-0045 subject change
    alice.plugin["xep_0045"].set_subject(JID(ROOM), "Q4 planning", mfrom=JID(ALICE))
    fixture(out, "subject", "slixmpp xep_0045 set_subject", alice.take())

    # XEP-0308 correction (the original, then its correction, both with XEP-0359 origin-id as slixmpp adds it)
    m = alice.make_message(mto=JID("bob@example.test"), mbody="see you at 10", mtype="chat", mfrom=JID(ALICE))
    m["id"] = "msg-1"
    m["origin_id"]["id"] = "msg-1"
    c = alice.make_message(mto=JID("bob@example.test"), mbody="see you at 11", mtype="chat", mfrom=JID(ALICE))
    c["id"] = "msg-2"
    c["origin_id"]["id"] = "msg-2"
    c["replace"]["id"] = "msg-1"
    fixture(out, "correction", "slixmpp Message with xep_0359 origin_id and xep_0308 replace", [m, c])

    # XEP-0444 reactions to msg-1 (as bob's client sends them), then withdrawn (an empty set)
    r = bob.make_message(mto=JID("alice@example.test"), mtype="chat", mfrom=JID(BOB))
    bob.plugin["xep_0444"].set_reactions(r, "msg-1", ["\U0001F44D"])
    r.enable("store")
    none = bob.make_message(mto=JID("alice@example.test"), mtype="chat", mfrom=JID(BOB))
    bob.plugin["xep_0444"].set_reactions(none, "msg-1", [])
    fixture(out, "reaction", "slixmpp xep_0444 set_reactions (what send_reactions sends)", [r, none])

    # XEP-0424 retraction (slixmpp's XEP-0422 fastening form)
    alice.plugin["xep_0424"].send_retraction(JID("bob@example.test"), "msg-1", mfrom=JID(ALICE))
    fixture(out, "retraction", "slixmpp xep_0424 send_retraction (urn:xmpp:fasten:0 apply-to form)", alice.take())

    # XEP-0066 OOB link in a message (what clients send after an XEP-0363 upload)
    l = alice.make_message(mto=JID("bob@example.test"), mbody="https://upload.example.test/f/abc/report.pdf", mtype="chat", mfrom=JID(ALICE))
    l["oob"]["url"] = "https://upload.example.test/f/abc/report.pdf"
    fixture(out, "file-link", "slixmpp Message with xep_0066 oob (x jabber:x:oob)", [l])

    # XEP-0096 SI file offer (iq set) as xep_0096 request_file_transfer builds it
    alice.plugin["xep_0096"].request_file_transfer(JID(BOB), sid="si-1", name="report.pdf", size=48213, mime_type="application/pdf",
        methods=[{"value": "http://jabber.org/protocol/bytestreams"}, {"value": "http://jabber.org/protocol/ibb"}])
    offer = alice.take()
    for s in offer:
        s["id"] = "si-offer-1"
        s["from"] = ALICE
    fixture(out, "file-si-offer", "slixmpp xep_0096 request_file_transfer (xep_0095 offer)", offer)

    # The answers to the SI offer, built the way xep_0095's accept()/decline() build them (both need a pending
    # stream the plugin only has after a real offer), and the in-band bytestream close that ends the transfer.
    acc = bob.Iq()
    acc["id"] = "si-offer-1"
    acc["to"] = ALICE
    acc["from"] = BOB
    acc["type"] = "result"
    acc["si"]["feature_neg"]["form"]["type"] = "submit"
    acc["si"]["feature_neg"]["form"].add_field(var="stream-method", ftype="list-single", value="http://jabber.org/protocol/ibb")
    close = alice.Iq()
    close["id"] = "ibb-close-1"
    close["to"] = BOB
    close["from"] = ALICE
    close["type"] = "set"
    close["ibb_close"]["sid"] = "si-1"
    fixture(out, "file-si-accept-and-close", "slixmpp Iq with xep_0095 si (accept, as xep_0095.accept builds it) and xep_0047 ibb_close", [acc, close])
    rej = bob.Iq()
    rej["id"] = "si-offer-1"
    rej["to"] = ALICE
    rej["from"] = BOB
    rej["type"] = "error"
    rej["error"]["type"] = "cancel"
    rej["error"]["condition"] = "forbidden"
    rej["error"]["text"] = "Offer declined"
    fixture(out, "file-si-reject", "slixmpp Iq error as xep_0095 decline sends it (forbidden, 'Offer declined')", [rej])

    # Housekeeping and an unknown payload: chat state, receipt, attention (XEP-0224), an ad-hoc command to a contact
    cs = alice.make_message(mto=JID("bob@example.test"), mtype="chat", mfrom=JID(ALICE))
    cs["chat_state"] = "composing"
    rc = bob.make_message(mto=JID(ALICE), mfrom=JID(BOB))
    rc["receipt"] = "msg-1"
    fixture(out, "housekeeping", "slixmpp xep_0085 chat state and xep_0184 receipt", [cs, rc])
    alice.plugin["xep_0224"].request_attention(JID("bob@example.test"), mfrom=JID(ALICE))
    cmd = alice.Iq()
    cmd["id"] = "cmd-1"
    cmd["to"] = BOB
    cmd["from"] = ALICE
    cmd["type"] = "set"
    cmd["command"]["node"] = "http://jabber.org/protocol/rc#set-status"
    cmd["command"]["action"] = "execute"
    fixture(out, "unclassified", "slixmpp xep_0224 request_attention and an xep_0050 ad-hoc command iq (as send_command builds it)", alice.take() + [cmd])

    # XEP-0353 Jingle Message Initiation: propose (audio), proceed, retract, reject, accept
    alice.plugin["xep_0353"].propose(JID("bob@example.test"), "jmi-1", [("urn:xmpp:jingle:apps:rtp:1", "audio")], mfrom=JID(ALICE))
    fixture(out, "jmi-propose", "slixmpp xep_0353 propose (audio)", alice.take())
    alice.plugin["xep_0353"].retract(JID("bob@example.test"), "jmi-1", mfrom=JID(ALICE))
    fixture(out, "jmi-retract", "slixmpp xep_0353 retract", alice.take())
    bob.plugin["xep_0353"].proceed(JID(ALICE), "jmi-2", mfrom=JID(BOB))
    fixture(out, "jmi-proceed", "slixmpp xep_0353 proceed", bob.take())
    bob.plugin["xep_0353"].reject(JID(ALICE), "jmi-3", mfrom=JID(BOB))
    fixture(out, "jmi-reject", "slixmpp xep_0353 reject", bob.take())

    # XEP-0380 explicit encryption marker with OMEMO
    e = alice.make_message(mto=JID("bob@example.test"), mbody="This message is encrypted with OMEMO", mtype="chat", mfrom=JID(ALICE))
    alice.plugin["xep_0380"].add_eme(e, "eu.siacs.conversations.axolotl")
    fixture(out, "encrypted-eme", "slixmpp xep_0380 add_eme", [e])


if __name__ == "__main__":
    main()

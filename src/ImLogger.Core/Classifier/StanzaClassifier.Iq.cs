using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>
    /// Iq stanzas between two parties: Jingle sessions (calls, file transfers), XEP-0096 SI file offers and their
    /// answers, in-band bytestream ends, XEP-0066 iq links. They are one-to-one conversations between the parties'
    /// bare JIDs. Housekeeping (roster, pings, discovery, storage, ...) and answers to other requests are ignored
    /// with a reason; any other request of a logged user is kept as raw XML.
    /// </summary>
    private static readonly XName LastActivity = XNamespace.Get("jabber:iq:last") + "query";

    private Classification ClassifyIq(TapEnvelope env, string from, string to)
    {
        var s = env.Stanza;
        var type = (string?)s.Attribute("type") ?? "";
        if (OneToOne(from, to) is not { } scope) return Classification.Ignored("iq between users who are not logged");
        var payload = s.Elements().FirstOrDefault(e => e.Name.Namespace != Ns.Stanzas && e.Name.LocalName != "error");

        if (type is "result" or "error")
            return IqAnswer(env, scope, from, to, type, s);

        if (payload == null) return Classification.Ignored($"iq {type} without a payload");
        if (type == "set" && payload.Name == EventNs.Jingle + "jingle") return ClassifyJingle(env, scope, from, to, payload);
        if (type == "set" && payload.Name == EventNs.Si + "si" && payload.Element(EventNs.SiFile + "file") is { } file)
            return SiOffer(env, scope, from, to, payload, file);
        if (payload.Name.Namespace == EventNs.Ibb)
            return InBandBytestream(env, scope, from, to, payload);
        if (type == "set" && payload.Name == XNamespace.Get("jabber:iq:oob") + "query")
        {
            var url = payload.Element(XNamespace.Get("jabber:iq:oob") + "url")?.Value;
            return Classification.Of(Event(env, EventKind.FileShared, scope, from, to) with
            {
                Url = url, FileName = NameFromUrl(url), Text = payload.Element(XNamespace.Get("jabber:iq:oob") + "desc")?.Value,
            }, "file offered as a link (XEP-0066 iq)");
        }
        if (IqQueries.Contains(payload.Name.NamespaceName))
            return Classification.Ignored($"iq {type} {payload.Name.NamespaceName} (a query or session plumbing)");
        // Profile, PEP and pubsub publishes, private storage, roster and room configuration: archived when they hold words.
        if (EventNs.IqHousekeeping.Contains(payload.Name.NamespaceName))
            return Kept(env, scope, from, to, $"iq {type} {payload.Name.NamespaceName}", $"iq {type} {payload.Name.NamespaceName} without text (account housekeeping)");
        return Unclassified(env, scope, from, to, $"iq {type} {payload.Name.NamespaceName}");
    }

    /// <summary>XEP-0096 stream initiation with the file-transfer profile: the offer, with name, size and media type.</summary>
    private Classification SiOffer(TapEnvelope env, Scope scope, string from, string to, XElement si, XElement file)
    {
        if ((string?)si.Attribute("id") is not { Length: > 0 } sid) return Classification.Ignored("file offer without a stream id");
        if (_sessions.Find(scope.Key, sid) is { InitiatedUtc: not null }) return Classification.Repeat("file offer already recorded (another copy)");
        var session = _sessions.Start(scope.Key, sid, new SessionLog.Session
        {
            IsFileTransfer = true,
            InitiatedUtc = env.ReceivedUtc,
            OfferIqId = (string?)env.Stanza.Attribute("id"),
            FileName = (string?)file.Attribute("name"),
            FileSize = ParseSize((string?)file.Attribute("size")),
            FileMediaType = (string?)si.Attribute("mime-type"),
        });
        return Classification.Of(Event(env, EventKind.FileOffered, scope, from, to) with
        {
            SessionId = sid, FileName = session.FileName, FileSize = session.FileSize, FileMediaType = session.FileMediaType,
            Text = file.Element(EventNs.SiFile + "desc")?.Value,
        }, "file offered (XEP-0096)");
    }

    /// <summary>An iq result or error: the acceptance or refusal of an SI file offer, else the answer to some request
    /// (the request is what counts: a Jingle action's acknowledgement, a roster result, ...).</summary>
    private Classification IqAnswer(TapEnvelope env, Scope scope, string from, string to, string type, XElement s)
    {
        if ((string?)s.Attribute("id") is { Length: > 0 } id && _sessions.FindByOfferIq(scope.Key, id) is { } found)
        {
            var (sid, session) = found;
            if (type == "result")
                return Accepted(env, scope, from, to, sid, session, null, "file offer accepted (XEP-0096)");
            var condition = s.Element(Ns.Client + "error")?.Elements().FirstOrDefault(e => e.Name.Namespace == Ns.Stanzas)?.Name.LocalName;
            return Ended(env, scope, from, to, sid, session, condition == "forbidden" ? "declined" : "rejected" + (condition == null ? "" : $" ({condition})"),
                "file offer refused (XEP-0096)");
        }
        // A last-activity answer (XEP-0012) carries the status text its subject last set: words, whoever asked.
        if (s.Elements().FirstOrDefault(e => e.Name.LocalName != "error") is { } payload && IqQueries.Contains(payload.Name.NamespaceName)
            && !(payload.Name == LastActivity && payload.Value.Trim().Length > 0))
            return Classification.Ignored($"iq {type} {payload.Name.NamespaceName}: the answer to a query (discovery, archive, plumbing)");
        return Kept(env, scope, from, to, $"iq {type}", $"iq {type} without text: the answer to a request (the request is what is archived, if anything)");
    }

    /// <summary>XEP-0047 in-band bytestream: open and data are the transfer itself; close ends the XEP-0096 transfer
    /// whose stream id it carries (Jingle transfers end with session-terminate instead).</summary>
    private Classification InBandBytestream(TapEnvelope env, Scope scope, string from, string to, XElement ibb)
    {
        if (ibb.Name.LocalName != "close") return Classification.Ignored($"in-band bytestream {ibb.Name.LocalName} (file data)");
        var sid = (string?)ibb.Attribute("sid") ?? "";
        if (_sessions.Find(scope.Key, sid) is not { IsFileTransfer: true } session)
            return Classification.Ignored("in-band bytestream closed (not a transfer offered by XEP-0096; Jingle transfers end with session-terminate)");
        return Ended(env, scope, from, to, sid, session, "completed", "file transfer completed (in-band bytestream closed)");
    }
}

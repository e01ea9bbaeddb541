using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>XEP-0249 direct invitation (jabber:x:conference); to a meeting service it is a meeting invitation.</summary>
    private Classification? DirectInvitation(TapEnvelope env, Scope scope, string from, string to, string fromBare, string toBare)
    {
        if (env.Stanza.Element(EventNs.DirectInvite + "x") is not { } x || (string?)x.Attribute("jid") is not { Length: > 0 } room) return null;
        var roomBare = JidText.Bare(room);
        var meeting = _options.IsMeetingService(roomBare);
        return Classification.Of(Event(env, meeting ? EventKind.CallInitiated : EventKind.Invitation, scope, from, to) with
        {
            Room = roomBare,
            Inviter = fromBare,
            Invitee = toBare,
            Reason = (string?)x.Attribute("reason"),
            CallMedia = meeting ? CallMedia.Meeting : null,
            SessionId = meeting ? roomBare : null,
        }, meeting ? "direct invitation to a meeting service" : "direct group chat invitation (XEP-0249)");
    }

    /// <summary>XEP-0045 mediated invitation or decline, in either leg: user to room (invite to=...) or room to user (invite from=...).</summary>
    private Classification MediatedInvitation(TapEnvelope env, string from, string to, string fromBare, string toBare, XElement element)
    {
        var decline = element.Name.LocalName == "decline";
        var viaRoom = element.Attribute("to") != null; // the user -> room leg names the other party in "to", the room -> user leg in "from"
        var room = viaRoom ? toBare : fromBare;
        var other = (string?)element.Attribute(viaRoom ? "to" : "from") is { Length: > 0 } o ? JidText.Bare(o) : null;
        var user = viaRoom ? fromBare : toBare;
        var logged = new[] { fromBare, toBare }.Where(isLogged).Distinct().ToList();
        if (logged.Count == 0) return Classification.Ignored("invitation between users who are not logged");
        var scope = new Scope(ConversationType.GroupChat, room, DirectionOf(fromBare, toBare), logged, viaRoom ? fromBare : other, null);
        // The inviter is whoever sent the invite; for a decline, the invitee is the one declining.
        var (inviter, invitee) = decline ? (viaRoom ? other : user, viaRoom ? user : other) : (viaRoom ? user : other, viaRoom ? other : user);
        var meeting = !decline && _options.IsMeetingService(room);
        return Classification.Of(Event(env, decline ? EventKind.InvitationDeclined : meeting ? EventKind.CallInitiated : EventKind.Invitation, scope, from, to) with
        {
            Room = room,
            Inviter = inviter,
            Invitee = invitee,
            Reason = element.Element(Ns.MucUser + "reason")?.Value,
            CallMedia = meeting ? CallMedia.Meeting : null,
            SessionId = meeting ? room : null,
        }, decline ? "declined group chat invitation (XEP-0045)" : meeting ? "mediated invitation to a meeting service" : "mediated group chat invitation (XEP-0045)");
    }

    /// <summary>XEP-0424 retraction (current form, and the XEP-0422 fastening form older clients and slixmpp send),
    /// including XEP-0425 moderation. The original stays archived; this event names it.</summary>
    private static Classification? Retraction(TapEnvelope env, Scope scope, string from, string to)
    {
        var s = env.Stanza;
        XElement? target = s.Element(EventNs.Retract1 + "retract");
        var id = (string?)target?.Attribute("id");
        if (target == null && s.Element(EventNs.Fasten + "apply-to") is { } applyTo
            && (applyTo.Element(EventNs.Retract0 + "retract") != null || applyTo.Element(EventNs.Retract1 + "retract") != null
                || applyTo.Element(XNamespace.Get("urn:xmpp:message-moderate:0") + "moderated") != null))
        {
            target = applyTo;
            id = (string?)applyTo.Attribute("id");
        }
        if (target == null || id == null) return null;
        var moderated = target.Descendants().FirstOrDefault(e => e.Name.LocalName == "moderated");
        var why = target.Descendants().FirstOrDefault(e => e.Name.LocalName == "reason")?.Value;
        var reason = moderated == null ? null
            : "moderated" + ((string?)moderated.Attribute("by") is { Length: > 0 } by ? " by " + by : "") + (why is { Length: > 0 } ? ": " + why : "");
        return Classification.Of(Event(env, EventKind.Retraction, scope, from, to) with { RelatedId = id, Reason = reason },
            moderated == null ? "message retraction (XEP-0424)" : "message moderation (XEP-0425)");
    }

    /// <summary>XEP-0308 last message correction: the new text, linked to the original, which stays archived.</summary>
    private static Classification? Correction(TapEnvelope env, Scope scope, string from, string to)
    {
        var s = env.Stanza;
        if ((string?)s.Element(EventNs.Correct + "replace")?.Attribute("id") is not { Length: > 0 } id) return null;
        var xhtml = XhtmlText.FindBody(s);
        return Classification.Of(Event(env, EventKind.Correction, scope, from, to) with
        {
            RelatedId = id,
            Text = BodyOf(s) ?? (xhtml == null ? "" : XhtmlText.ToText(xhtml)),
            Html = xhtml == null ? null : StanzaXml.Compact(xhtml),
        }, "message correction (XEP-0308)");
    }

    /// <summary>XEP-0444 reactions: each message carries the sender's complete set for one earlier message.</summary>
    private static Classification? Reactions(TapEnvelope env, Scope scope, string from, string to)
    {
        var reactions = env.Stanza.Element(EventNs.Reactions + "reactions");
        if ((string?)reactions?.Attribute("id") is not { Length: > 0 } id) return null;
        var set = reactions!.Elements(EventNs.Reactions + "reaction").Select(r => r.Value.Trim()).Where(r => r.Length > 0);
        return Classification.Of(Event(env, EventKind.Reaction, scope, from, to) with { RelatedId = id, Text = string.Join(' ', set) },
            "reactions to a message (XEP-0444)");
    }

    /// <summary>A group chat subject (a message with &lt;subject/&gt; and no body). Rooms send the current subject to
    /// each joining occupant: a subject equal to the one already known for the room is not a change.</summary>
    private Classification? Subject(TapEnvelope env, Scope scope, string from, string to, string type)
    {
        var s = env.Stanza;
        if (type != "groupchat" || s.Element(Ns.Client + "subject") is not { } subject || s.Element(Ns.Client + "body") != null) return null;
        if (!_rooms.SubjectChanged(scope.Key, subject.Value))
            return Classification.Repeat("room subject unchanged (announced on join, or another copy of the change)");
        return Classification.Of(Event(env, EventKind.SubjectChanged, scope, from, to) with { Text = subject.Value }, "group chat subject");
    }

    /// <summary>A file shared as a link: XEP-0066 OOB (how clients share XEP-0363 uploads), or XEP-0447 stateless file
    /// sharing with XEP-0446 metadata (name, size, media type).</summary>
    private Classification? SharedFile(TapEnvelope env, Scope scope, string from, string to)
    {
        var s = env.Stanza;
        var oob = s.Element(EventNs.Oob + "x");
        var sharing = s.Element(EventNs.Sfs + "file-sharing");
        var metadata = sharing?.Element(EventNs.FileMetadata + "file") ?? s.Descendants(EventNs.FileMetadata + "file").FirstOrDefault();
        var url = oob?.Element(EventNs.Oob + "url")?.Value
                  ?? (string?)sharing?.Descendants().FirstOrDefault(e => e.Name.LocalName == "url-data")?.Attribute("target");
        if (url == null && metadata == null) return null;
        return Classification.Of(Event(env, EventKind.FileShared, scope, from, to) with
        {
            Url = url,
            FileName = metadata?.Element(EventNs.FileMetadata + "name")?.Value ?? NameFromUrl(url),
            // XEP-0446 metadata when the client sent it, else the size its XEP-0363 slot request announced.
            FileSize = ParseSize(metadata?.Element(EventNs.FileMetadata + "size")?.Value) ?? UploadedSize(url),
            FileMediaType = metadata?.Element(EventNs.FileMetadata + "media-type")?.Value,
            Text = BodyOf(s) is { } body && body != url ? body : oob?.Element(EventNs.Oob + "desc")?.Value,
        }, "file shared as a link (XEP-0066/XEP-0363/XEP-0447)");
    }

    /// <summary>The last path segment of a link, unescaped (upload services keep the file's name there).</summary>
    private static string? NameFromUrl(string? url)
    {
        if (url == null || !Uri.TryCreate(url, UriKind.Absolute, out var uri)) return null;
        var last = uri.AbsolutePath.TrimEnd('/').Split('/').LastOrDefault();
        return string.IsNullOrEmpty(last) ? null : Uri.UnescapeDataString(last);
    }
}

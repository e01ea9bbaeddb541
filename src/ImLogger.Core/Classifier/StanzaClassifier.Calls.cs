using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>
    /// XEP-0353 Jingle Message Initiation: propose starts a call, proceed/accept answer it, reject/retract/finish end it.
    /// The JMI id is the Jingle sid of the session that follows, so a propose and its session-initiate are one call.
    /// </summary>
    private Classification? JingleMessage(TapEnvelope env, Scope scope, string from, string to, string fromBare, string toBare)
    {
        var jmi = env.Stanza.Elements().FirstOrDefault(e => EventNs.IsJmi(e.Name.Namespace));
        if (jmi == null) return null;
        if ((string?)jmi.Attribute("id") is not { Length: > 0 } sid) return Classification.Ignored("Jingle message without an id");
        var action = jmi.Name.LocalName;
        // accept/reject to the user's own bare JID tell the user's other devices to stop ringing; the answer to the
        // caller (proceed/reject) is what is archived.
        if (fromBare == toBare) return Classification.Ignored($"Jingle message {action} to the user's own devices (the answer to the caller is archived)");
        var session = _sessions.Find(scope.Key, sid);
        switch (action)
        {
            case "propose":
            {
                if (session != null) return Classification.Repeat("call already recorded (another copy of the propose)");
                var fileTransfer = jmi.Elements().Any(d => EventNs.IsJingleFileTransfer(d.Name.Namespace));
                var media = fileTransfer ? (CallMedia?)null : MediaOf(jmi.Elements().Where(d => d.Name.LocalName == "description").Select(d => ((string?)d.Attribute("media"), (string?)null, d.Name.Namespace)), false, fromBare, toBare);
                _sessions.Start(scope.Key, sid, new SessionLog.Session { IsFileTransfer = fileTransfer, Media = media, InitiatedUtc = env.ReceivedUtc });
                return Classification.Of(Event(env, fileTransfer ? EventKind.FileOffered : EventKind.CallInitiated, scope, from, to) with { SessionId = sid, CallMedia = media },
                    "call proposed (XEP-0353)");
            }
            case "proceed" or "accept":
                return Accepted(env, scope, from, to, sid, session, null, $"call accepted (XEP-0353 {action})");
            case "reject" or "retract" or "finish":
            {
                var reason = action == "finish" ? ReasonOf(jmi) ?? "finished" : action == "reject" ? "rejected" : "retracted";
                return Ended(env, scope, from, to, sid, session, reason, $"call ended (XEP-0353 {action})");
            }
            default:
                return Classification.Ignored($"Jingle message {action} (ringing and other signalling)");
        }
    }

    /// <summary>XEP-0482 call invites (group calls, and calls on external services such as a meeting link or a phone number).</summary>
    private Classification? CallInvite(TapEnvelope env, Scope scope, string from, string to)
    {
        var element = env.Stanza.Elements().FirstOrDefault(e => e.Name.Namespace == EventNs.CallInvites);
        if (element == null) return null;
        var id = element.Name.LocalName == "invite" ? (string?)env.Stanza.Attribute("id") ?? NewId() : (string?)element.Attribute("id");
        if (id == null) return Classification.Ignored($"call invite {element.Name.LocalName} without an id");
        var session = _sessions.Find(scope.Key, id);
        if (MultiPartyCallSignal(env, scope, from, to, id, session, element.Name.LocalName) is { } multiParty) return multiParty;
        switch (element.Name.LocalName)
        {
            case "invite":
            {
                if (session != null) return Classification.Repeat("call invite already recorded");
                var video = (string?)element.Attribute("video") is "true" or "1";
                var external = (string?)element.Element(EventNs.CallInvites + "external")?.Attribute("uri");
                var muji = (string?)element.Element(EventNs.CallInvites + "muji")?.Attribute("room");
                var media = external != null && _options.IsTelephony(external) ? CallMedia.Phone
                    : external != null ? CallMedia.Meeting
                    : muji != null || scope.Type == ConversationType.GroupChat ? (video ? CallMedia.Meeting : CallMedia.AudioConference)
                    : video ? CallMedia.Video : CallMedia.Audio;
                var call = _sessions.Start(scope.Key, id, new SessionLog.Session { IsFileTransfer = false, Media = media, InitiatedUtc = env.ReceivedUtc });
                if (muji != null || scope.Type == ConversationType.GroupChat)
                {
                    call.MultiParty = true;
                    call.Participants.Add(scope.SenderBareJid ?? from);
                }
                return Classification.Of(Event(env, EventKind.CallInitiated, scope, from, to) with
                {
                    SessionId = id, CallMedia = media, Url = external, Room = muji == null ? null : JidText.Bare(muji),
                }, "call invitation (XEP-0482)");
            }
            case "accept":
                return Accepted(env, scope, from, to, id, session, null, "call invitation accepted (XEP-0482)");
            case "reject" or "retract" or "left":
                return Ended(env, scope, from, to, id, session, element.Name.LocalName switch { "reject" => "rejected", "retract" => "retracted", _ => "left" },
                    $"call invitation {element.Name.LocalName} (XEP-0482)");
            default:
                return Classification.Ignored($"call invite {element.Name.LocalName}");
        }
    }

    /// <summary>XEP-0166 Jingle: session-initiate starts a call or file transfer, session-accept answers it,
    /// session-terminate ends it. Every other action is negotiation (candidates, ringing, codecs).</summary>
    private Classification ClassifyJingle(TapEnvelope env, Scope scope, string from, string to, XElement jingle)
    {
        var action = (string?)jingle.Attribute("action");
        if ((string?)jingle.Attribute("sid") is not { Length: > 0 } sid) return Classification.Ignored("Jingle without a session id");
        var session = _sessions.Find(scope.Key, sid);
        var contents = jingle.Elements(EventNs.Jingle + "content").ToList();
        switch (action)
        {
            case "session-initiate":
            {
                var d = DescribeContents(jingle, contents, scope);
                if (session is { InitiatedUtc: not null, Ended: false })
                {
                    // The proposal (JMI) was recorded; the session itself says what it carries.
                    if (!session.IsFileTransfer && d.Media is { } m) session.Media = m;
                    return Classification.Repeat("Jingle session of a call or transfer already recorded (propose, or another copy)");
                }
                if (d.File == null && d.Media == null)
                    return Unclassified(env, scope, from, to, "Jingle session with an application the classifier has no rule for");
                // Copies of two parties' stanzas may reach the component out of order: an answer seen first has already
                // started the session's record, which the initiation now completes.
                if (session is { InitiatedUtc: null, Ended: false })
                {
                    session.InitiatedUtc = env.ReceivedUtc;
                    session.Media ??= d.Media;
                    session.FileName ??= d.File?.Name;
                    session.FileSize ??= d.File?.Size;
                    session.FileMediaType ??= d.File?.MediaType;
                }
                else
                {
                    _sessions.Start(scope.Key, sid, new SessionLog.Session
                    {
                        IsFileTransfer = d.File != null, Media = d.Media, InitiatedUtc = env.ReceivedUtc,
                        FileName = d.File?.Name, FileSize = d.File?.Size, FileMediaType = d.File?.MediaType,
                    });
                }
                return Classification.Of(Event(env, d.File != null ? EventKind.FileOffered : EventKind.CallInitiated, scope, from, to) with
                {
                    SessionId = sid, CallMedia = d.Media, FileName = d.File?.Name, FileSize = d.File?.Size, FileMediaType = d.File?.MediaType,
                    Room = d.Room,
                }, d.File != null ? "Jingle file transfer offered (XEP-0234)" : "Jingle session initiated (XEP-0166/0167)");
            }
            case "session-accept":
                return Accepted(env, scope, from, to, sid, session, DescribeContents(jingle, contents, scope), "Jingle session accepted");
            case "session-terminate":
                return Ended(env, scope, from, to, sid, session, ReasonOf(jingle) ?? "terminated", "Jingle session terminated");
            default:
                return Classification.Ignored($"Jingle {action} (negotiation within a session)");
        }
    }

    private sealed record FileDescription(string? Name, long? Size, string? MediaType);

    private sealed record Contents(CallMedia? Media, FileDescription? File, string? Room);

    private Contents DescribeContents(XElement jingle, List<XElement> contents, Scope scope)
    {
        var descriptions = contents.Select(c => (Content: c, Description: c.Elements().FirstOrDefault(e => e.Name.LocalName == "description"))).ToList();
        var ft = descriptions.FirstOrDefault(d => d.Description != null && EventNs.IsJingleFileTransfer(d.Description.Name.Namespace)).Description;
        if (ft != null)
        {
            var file = ft.Elements().FirstOrDefault(e => e.Name.LocalName == "file");
            string? Child(string name) => file?.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            return new Contents(null, new FileDescription(Child("name"), ParseSize(Child("size")), Child("media-type")), null);
        }
        var muji = (string?)jingle.Element(EventNs.Muji + "muji")?.Attribute("room");
        var parties = scope.Key.Split(' ');
        var media = MediaOf(descriptions.Where(d => d.Description != null)
                .Select(d => ((string?)d.Description!.Attribute("media"), (string?)d.Content.Attribute("name"), d.Description.Name.Namespace)),
            muji != null, parties[0], parties.Length > 1 ? parties[1] : parties[0]);
        return new Contents(media, null, muji == null ? null : JidText.Bare(muji));
    }

    /// <summary>
    /// What a set of RTP descriptions makes of a session: a screen or desktop content (by content name, or a
    /// remote-desktop application) is a desktop share; a multi-party (MUJI) session is an audio conference, or a
    /// meeting with video; a telephony gateway or tel:/sip: party makes a phone call; otherwise video if any
    /// content is video, else audio. Null when no description is a real-time one.
    /// </summary>
    private CallMedia? MediaOf(IEnumerable<(string? Media, string? ContentName, XNamespace Ns)> descriptions, bool multiParty, string partyA, string partyB)
    {
        bool any = false, video = false, screen = false;
        foreach (var (media, name, ns) in descriptions)
        {
            var rtp = ns == EventNs.Rtp;
            var remoteDesktop = ns.NamespaceName.Contains("remoting", StringComparison.OrdinalIgnoreCase);
            if (!rtp && !remoteDesktop) continue;
            any = true;
            if (remoteDesktop || (name != null && (name.Contains("screen", StringComparison.OrdinalIgnoreCase) || name.Contains("desktop", StringComparison.OrdinalIgnoreCase))))
                screen = true;
            else if (media == "video") video = true;
        }
        if (!any) return null;
        if (screen) return CallMedia.DesktopShare;
        if (multiParty) return video ? CallMedia.Meeting : CallMedia.AudioConference;
        if (_options.IsTelephony(partyA) || _options.IsTelephony(partyB)) return CallMedia.Phone;
        return video ? CallMedia.Video : CallMedia.Audio;
    }

    /// <summary>The condition of a Jingle &lt;reason&gt; (success, decline, busy, ...) with its text, if any.</summary>
    private static string? ReasonOf(XElement parent)
    {
        var reason = parent.Elements().FirstOrDefault(e => e.Name.LocalName == "reason");
        var condition = reason?.Elements().FirstOrDefault(e => e.Name.LocalName != "text")?.Name.LocalName;
        var text = reason?.Elements().FirstOrDefault(e => e.Name.LocalName == "text")?.Value;
        return condition == null ? text : text is { Length: > 0 } ? $"{condition}: {text}" : condition;
    }

    /// <summary>An answer to a call or transfer; repeated answers (each party's copy, JMI proceed then Jingle accept) count once.</summary>
    private Classification Accepted(TapEnvelope env, Scope scope, string from, string to, string sid, SessionLog.Session? session, Contents? contents, string reason)
    {
        if (session is { AcceptedUtc: not null } or { Ended: true })
            return Classification.Repeat("answer already recorded (another copy, or the Jingle accept after a JMI proceed)");
        session ??= _sessions.Start(scope.Key, sid, new SessionLog.Session
        {
            IsFileTransfer = contents?.File != null, Media = contents?.Media,
            FileName = contents?.File?.Name, FileSize = contents?.File?.Size, FileMediaType = contents?.File?.MediaType,
        });
        session.AcceptedUtc = env.ReceivedUtc;
        return Classification.Of(Event(env, session.IsFileTransfer ? EventKind.FileTransferAccepted : EventKind.CallAccepted, scope, from, to) with
        {
            SessionId = sid, CallMedia = session.Media, FileName = session.FileName, FileSize = session.FileSize, FileMediaType = session.FileMediaType,
        }, reason);
    }

    /// <summary>The end of a call or transfer, with its duration when its start was seen; a repeated end counts once.</summary>
    private Classification Ended(TapEnvelope env, Scope scope, string from, string to, string sid, SessionLog.Session? session, string endReason, string reason)
    {
        if (session is { Ended: true }) return Classification.Repeat("end already recorded (another copy, or the Jingle terminate after a JMI finish)");
        session ??= _sessions.Start(scope.Key, sid, new SessionLog.Session { IsFileTransfer = false });
        session.Ended = true;
        return Classification.Of(Event(env, session.IsFileTransfer ? EventKind.FileTransferEnded : EventKind.CallEnded, scope, from, to) with
        {
            SessionId = sid, CallMedia = session.Media, Reason = endReason, Duration = session.DurationUntil(env.ReceivedUtc),
            FileName = session.FileName, FileSize = session.FileSize, FileMediaType = session.FileMediaType,
        }, reason);
    }
}

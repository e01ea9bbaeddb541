using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>&lt;attach mode="tap|inline" server="prosody|ejabberd" failure-mode="closed|open" timeout="10s"/&gt;</c>; inline fail-closed on Prosody when absent
        /// (the element or its mode).</summary>
        private AttachSettings ReadAttach(XElement? e)
        {
            if (e == null) return new AttachSettings();
            Only(e, ["mode", "failure-mode", "timeout", "rules-out", "heartbeat", "server"], []);
            var mode = ((string?)e.Attribute("mode") ?? "inline").Trim().ToLowerInvariant() switch
            {
                "tap" => AttachMode.Tap,
                "inline" => AttachMode.Inline,
                var other => throw Error(e.Attribute("mode")!, $"mode must be tap or inline, not '{other}'"),
            };
            var failure = ((string?)e.Attribute("failure-mode") ?? "closed").Trim().ToLowerInvariant() switch
            {
                "closed" => FailureMode.Closed,
                "open" => FailureMode.Open,
                var other => throw Error(e.Attribute("failure-mode")!, $"failure-mode must be closed or open, not '{other}'"),
            };
            if (mode == AttachMode.Tap && e.Attribute("failure-mode") != null)
                throw Error(e.Attribute("failure-mode")!, "failure-mode applies to inline mode only: tap mode cannot hold or refuse anything");
            var server = ((string?)e.Attribute("server") ?? "prosody").Trim().ToLowerInvariant() switch
            {
                "prosody" => XmppServerKind.Prosody,
                "ejabberd" => XmppServerKind.Ejabberd,
                var other => throw Error(e.Attribute("server")!, $"server must be prosody or ejabberd, not '{other}'"),
            };
            // ejabberd has no stock module that copies stanzas to a component the way Prosody's mod_firewall does.
            if (server == XmppServerKind.Ejabberd && mode == AttachMode.Tap)
                throw Error(e.Attribute("mode")!, "tap mode needs Prosody's mod_firewall: with server=\"ejabberd\" use mode=\"inline\" (mod_imlogger_inline for ejabberd)");
            var heartbeat = Duration(e, "heartbeat", TimeSpan.FromSeconds(30));
            if (heartbeat < TimeSpan.FromSeconds(1) || heartbeat > TimeSpan.FromMinutes(5))
                throw Error(e.Attribute("heartbeat")!, $"heartbeat must be between 1s and 5m (ImLogger reports a server side silent for two heartbeats), not '{(string?)e.Attribute("heartbeat")}'");
            return new AttachSettings
            {
                Heartbeat = heartbeat, Server = server,
                Mode = mode, FailureMode = failure, Timeout = Duration(e, "timeout", TimeSpan.FromSeconds(10)),
                RulesOut = (string?)e.Attribute("rules-out") is { } rulesOut ? ResolvePath(Required(e, "rules-out")) : null,
            };
        }

        /// <summary><c>&lt;restrictions&gt;&lt;encrypted-room jid="room@conference.example.test"/&gt;&lt;/restrictions&gt;</c>.</summary>
        private RestrictionSettings ReadRestrictions(XElement? e)
        {
            if (e == null) return new RestrictionSettings();
            Only(e, [], ["encrypted-room"]);
            var rooms = new List<string>();
            foreach (var room in e.Elements("encrypted-room"))
            {
                Only(room, ["jid"], []);
                var jid = Required(room, "jid").Trim().ToLowerInvariant();
                if (jid.Contains('/') || !jid.Contains('@'))
                    throw Error(room.Attribute("jid")!, $"'{jid}' is not a room's bare JID (room@conference.example.test)");
                rooms.Add(jid);
            }
            return new RestrictionSettings { EncryptedRooms = rooms };
        }
    
        /// <summary><c>&lt;services&gt;&lt;telephony-gateway domain="..."/&gt;&lt;meeting-service domain="..."/&gt;&lt;/services&gt;</c>:
        /// the site's gateways and meeting services for the classifier. A kind listed replaces that kind's default rule.</summary>
        private Classifier.ClassifierOptions ReadServices(XElement? e)
        {
            if (e == null) return Classifier.ClassifierOptions.Default;
            Only(e, [], ["telephony-gateway", "meeting-service"]);
            List<string>? Domains(string kind)
            {
                var found = e.Elements(kind).ToList();
                if (found.Count == 0) return null;
                var domains = new List<string>();
                foreach (var x in found)
                {
                    Only(x, ["domain"], []);
                    var domain = Required(x, "domain").Trim().ToLowerInvariant();
                    if (domain.Length == 0 || domain.Contains('@') || domain.Contains('/') || domain.Any(char.IsWhiteSpace))
                        throw Error(x.Attribute("domain")!, $"domain '{domain}' of <{kind}> must be a domain such as sip.example.test (no user part, no resource)");
                    if (domains.Contains(domain))
                        throw Error(x, $"<{kind} domain=\"{domain}\"> is listed twice");
                    domains.Add(domain);
                }
                return domains;
            }
            return new Classifier.ClassifierOptions { TelephonyGateways = Domains("telephony-gateway"), MeetingServices = Domains("meeting-service") };
        }

        /// <summary><c>&lt;approved-clients&gt;&lt;client name="Conversations" caps-node="http://conversations.im" min-version="2.12"/&gt;&lt;/approved-clients&gt;</c>;
        /// null (any client) when absent.</summary>
        private IReadOnlyList<ApprovedClient>? ReadApprovedClients(XElement? e)
        {
            if (e == null) return null;
            Only(e, ["answer-within"], ["client"]);
            var clients = new List<ApprovedClient>();
            foreach (var c in e.Elements("client"))
            {
                Only(c, ["name", "caps-node", "min-version"], []);
                var name = (string?)c.Attribute("name");
                var node = (string?)c.Attribute("caps-node");
                if (string.IsNullOrWhiteSpace(name) && string.IsNullOrWhiteSpace(node))
                    throw Error(c, "a <client> needs a name (its XEP-0092 software name) or a caps-node (its XEP-0115 node), or both");
                Version? min = null;
                if (c.Attribute("min-version") is { } v && !ApprovedClient.TryParseVersion(v.Value, out min))
                    throw Error(v, $"min-version must be a version such as 2.12 or 1.8.3, not '{v.Value}'");
                clients.Add(new ApprovedClient(name?.Trim(), node?.Trim(), min));
            }
            if (clients.Count == 0)
                throw Error(e, "<approved-clients> lists no <client>, so every logged user would be refused; list the approved clients, or remove the element to allow any");
            return clients;
        }

        /// <summary><c>&lt;approved-clients answer-within="10s"&gt;</c>: 1 s to 2 min (a client answers in a round trip; a
        /// session waits, seeing nothing, until it has).</summary>
        private TimeSpan ReadClientAnswerWithin(XElement? e)
        {
            if (e == null) return TimeSpan.FromSeconds(10);
            var within = Duration(e, "answer-within", TimeSpan.FromSeconds(10));
            if (within < TimeSpan.FromSeconds(1) || within > TimeSpan.FromMinutes(2))
                throw Error(e.Attribute("answer-within")!, "answer-within must be between 1s and 2m: how long a new session of a logged user has to say which client it is");
            return within;
        }
    }
}

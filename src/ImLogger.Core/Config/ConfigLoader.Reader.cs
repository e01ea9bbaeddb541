using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    /// <summary>Walks the document element by element, so each error carries the offending node's position.</summary>
    private sealed partial class Reader(string file, string baseDir, Func<string, string?> environment, bool readSecrets)
    {
        public ImLoggerConfig Read(XElement root)
        {
            if (root.Name.LocalName != "imlogger" || root.Name.NamespaceName.Length != 0)
                throw Error(root, $"the root element must be <imlogger>, not <{root.Name.LocalName}>");
            Only(root, [], ["component", "attach", "spool", "transcripts", "organization", "endpoints", "restrictions", "services", "reload", "metrics", "failover", "scale-out"]);

            var component = ReadComponent(Single(root, "component", required: true)!);
            var spool = Single(root, "spool", required: true)!;
            Only(spool, ["path", "key-file"], []);
            var transcripts = Single(root, "transcripts", required: false);
            if (transcripts != null) Only(transcripts, ["idle-close", "dedup-window"], []);

            var endpoints = ReadEndpoints(Single(root, "endpoints", required: true)!);
            var organizations = root.Elements("organization").Select(o => ReadOrganization(o, endpoints)).ToList();
            if (organizations.Count == 0)
                throw Error(root, "no <organization> is configured, so nobody would be logged; add <organization domain=\"...\" endpoint=\"...\" seats=\"N\"> with <user jid=\"...\"/> inside");
            UniqueOrganizations(root.Elements("organization").Zip(organizations));
            var seen = new Dictionary<string, XElement>(StringComparer.Ordinal);
            foreach (var user in root.Elements("organization").Elements("user"))
            {
                var jid = NormalizeJid(user, Required(user, "jid"));
                if (!seen.TryAdd(jid, user))
                    throw Error(user, $"user '{jid}' is listed twice (first at line {Line(seen[jid])}); list each logged user once");
            }

            return new ImLoggerConfig
            {
                SourcePath = Path.GetFullPath(file),
                Component = component,
                SpoolPath = ResolvePath(Required(spool, "path")),
                SpoolKeyFile = spool.Attribute("key-file") is { } keyFile ? ResolvePath(keyFile.Value) : null,
                IdleClose = transcripts == null ? TimeSpan.FromMinutes(10) : Duration(transcripts, "idle-close", TimeSpan.FromMinutes(10)),
                DedupWindow = transcripts == null ? TimeSpan.FromSeconds(60) : Duration(transcripts, "dedup-window", TimeSpan.FromSeconds(60)),
                Organizations = organizations,
                Endpoints = endpoints.Values.Select(e => e.Config).ToList(),
                RetryFor = ReadRetryFor(Single(root, "endpoints", required: true)!),
                Attach = ReadAttach(Single(root, "attach", required: false)),
                Failover = ReadFailover(Single(root, "failover", required: false)),
                ScaleOut = ReadScaleOut(Single(root, "scale-out", required: false), component, organizations),
                Restrictions = ReadRestrictions(Single(root, "restrictions", required: false)),
                Services = ReadServices(Single(root, "services", required: false)),
                Reload = ReadReload(Single(root, "reload", required: false)),
                Metrics = ReadMetrics(Single(root, "metrics", required: false)),
                ReferencedFiles = _referencedFiles.Distinct(StringComparer.Ordinal).ToList(),
            };
        }

        private ComponentSettings ReadComponent(XElement e)
        {
            Only(e, ["jid", "host", "port", "secret-env", "secret-file", "max-stanza-bytes", "secret"], []);
            if (e.Attribute("secret") != null)
                throw Error(e, "the secret must not be written in the config itself; put it in a file (secret-file=\"/etc/imlogger/component.secret\") or an environment variable (secret-env=\"IMLOGGER_COMPONENT_SECRET\")");
            var jid = Required(e, "jid").Trim().ToLowerInvariant();
            if (jid.Contains('@') || jid.Contains('/') || !jid.Contains('.'))
                throw Error(e, $"component jid '{jid}' must be a domain such as archive.example.test (no user part, no resource)");
            var env = (string?)e.Attribute("secret-env");
            var fileAttr = (string?)e.Attribute("secret-file");
            if ((env == null) == (fileAttr == null))
                throw Error(e, "give exactly one of secret-env=\"VARIABLE\" or secret-file=\"PATH\" for the component secret");
            string secret, source;
            if (!readSecrets)
            {
                source = env != null ? $"environment variable {env}" : $"file {ResolvePath(fileAttr!)}";
                secret = "";
            }
            else if (env != null)
            {
                source = $"environment variable {env}";
                secret = environment(env) ?? "";
                if (secret.Length == 0)
                    throw Error(e, $"the component secret is read from {source}, which is not set or empty; export it before starting ImLogger");
            }
            else
            {
                var secretPath = ResolvePath(fileAttr!);
                source = $"file {secretPath}";
                try { secret = File.ReadAllText(secretPath).Trim(); }
                catch (Exception x) when (x is IOException or UnauthorizedAccessException)
                {
                    throw Error(e, $"cannot read the component secret from {source}: {x.Message}");
                }
                if (secret.Length == 0) throw Error(e, $"the component secret {source} is empty");
            }
            return new ComponentSettings
            {
                Jid = jid,
                Host = (string?)e.Attribute("host") ?? "127.0.0.1",
                Port = Int(e, "port", 5347, 1, 65535),
                Secret = secret,
                SecretSource = source,
                MaxStanzaBytes = Int(e, "max-stanza-bytes", 1024 * 1024, 4096, 64 * 1024 * 1024),
            };
        }

        /// <summary><c>&lt;notifications inside="on" outside="on"&gt;optional custom text&lt;/notifications&gt;</c>.</summary>
        private NotificationSettings ReadNotifications(XElement? e)
        {
            if (e == null) return new NotificationSettings();
            Only(e, ["inside", "outside"], [], text: true);
            var text = string.Join(" ", e.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            if (text.Length > NotificationSettings.MaxTextLength)
                throw Error(e, $"the custom notification text has {text.Length} characters; at most {NotificationSettings.MaxTextLength} are allowed (clients truncate or split longer notices)");
            return new NotificationSettings
            {
                NotifyInside = OnOff(e, "inside"),
                NotifyOutside = OnOff(e, "outside"),
                Text = text.Length == 0 ? NotificationSettings.DefaultText : text,
            };
        }

        private bool OnOff(XElement e, string attribute, bool absent = true)
        {
            var a = e.Attribute(attribute);
            return a == null ? absent : a.Value.Trim().ToLowerInvariant() switch
            {
                "on" or "true" or "yes" => true,
                "off" or "false" or "no" => false,
                _ => throw Error(a, $"{attribute} must be on or off, not '{a.Value}'"),
            };
        }

        private string CheckEndpoint(XElement at, string name, Dictionary<string, (EndpointConfig, XElement)> endpoints, string who) =>
            endpoints.ContainsKey(name) ? name
                : throw Error(at.Attribute("endpoint") ?? (XObject)at,
                    $"endpoint '{name}' referenced by {who} is not defined; defined endpoints: {string.Join(", ", endpoints.Keys.Select(k => $"'{k}'"))}");

        private string NormalizeJid(XElement at, string jid)
        {
            jid = jid.Trim().ToLowerInvariant();
            var parts = jid.Split('@');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0 || jid.Contains('/') || jid.Any(char.IsWhiteSpace))
                throw Error(at.Attribute("jid") ?? (XObject)at, $"'{jid}' is not a bare JID of the form user@domain");
            return jid;
        }

        /// <summary>A domain belongs to one organization (its seats and notices would be ambiguous otherwise); names are unique.</summary>
        private void UniqueOrganizations(IEnumerable<(XElement Element, OrganizationConfig Org)> organizations)
        {
            var domains = new Dictionary<string, XElement>(StringComparer.Ordinal);
            var names = new Dictionary<string, XElement>(StringComparer.OrdinalIgnoreCase);
            foreach (var (e, org) in organizations)
            {
                foreach (var d in org.Domains)
                    if (!domains.TryAdd(d, e))
                        throw Error(e.Attribute("domain")!, $"domain '{d}' belongs to two organizations (first at line {Line(domains[d])}); a domain's users are counted against one organization's seats");
                if (!names.TryAdd(org.Name, e))
                    throw Error(e, $"organization '{org.Name}' is defined twice (first at line {Line(names[org.Name])}); give each organization its own name=\"...\"");
            }
        }

        /// <summary>Refuses unknown attributes and child elements, naming the ones that are allowed (catches typos).</summary>
        private void Only(XElement e, string[] attributes, string[] children, bool text = false)
        {
            foreach (var a in e.Attributes().Where(a => !a.IsNamespaceDeclaration))
                if (a.Name.NamespaceName.Length != 0 || !attributes.Contains(a.Name.LocalName))
                    throw Error(a, $"<{e.Name.LocalName}> has no attribute '{a.Name.LocalName}'" +
                        (attributes.Length > 0 ? $"; allowed: {string.Join(", ", attributes)}" : ""));
            foreach (var c in e.Elements())
                if (c.Name.NamespaceName.Length != 0 || !children.Contains(c.Name.LocalName))
                    throw Error(c, $"unknown element <{c.Name.LocalName}> inside <{e.Name.LocalName}>" +
                        (children.Length > 0 ? $"; expected one of: {string.Join(", ", children.Select(x => $"<{x}>"))}" : "; it takes no child elements"));
            if (!text && children.Length == 0 && e.Nodes().OfType<XText>().Any(t => !string.IsNullOrWhiteSpace(t.Value)))
                throw Error(e, $"<{e.Name.LocalName}> takes no text; use attributes");
        }

        private XElement? Single(XElement parent, string name, bool required)
        {
            var found = parent.Elements(name).ToList();
            if (found.Count > 1) throw Error(found[1], $"<{name}> may appear only once (first at line {Line(found[0])})");
            if (found.Count == 0 && required) throw Error(parent, $"<{parent.Name.LocalName}> needs a <{name}> element");
            return found.FirstOrDefault();
        }

        private string Required(XElement e, string attribute)
        {
            var v = (string?)e.Attribute(attribute);
            if (string.IsNullOrWhiteSpace(v)) throw Error(e, $"<{e.Name.LocalName}> needs a non-empty '{attribute}' attribute");
            return v;
        }

        private int Int(XElement e, string attribute, int fallback, int min, int max) => (int)Long(e, attribute, fallback, min, max, "a whole number");

        // "what" is how the error names the kind of number: "a whole number of bytes" for sizes.
        private long Long(XElement e, string attribute, long fallback, long min, long max, string what = "a whole number of bytes")
        {
            var a = e.Attribute(attribute);
            if (a == null) return fallback;
            if (!long.TryParse(a.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
                throw Error(a, $"{attribute} must be {what} from {min} to {max}, not '{a.Value}'");
            return v;
        }

        private TimeSpan Duration(XElement e, string attribute, TimeSpan fallback)
        {
            var a = e.Attribute(attribute);
            if (a == null) return fallback;
            return TryParseDuration(a.Value, out var v) ? v
                : throw Error(a, $"{attribute} must be a positive duration such as 30s, 10m, 2h or PT10M, not '{a.Value}'");
        }

        private string ResolvePath(string path) => Path.GetFullPath(Path.Combine(baseDir, Environment.ExpandEnvironmentVariables(path)));

        private static int Line(XObject o) => ((IXmlLineInfo)o).LineNumber;

        private ConfigException Error(XObject at, string problem)
        {
            var info = (IXmlLineInfo)at;
            return new ConfigException(file, info.LineNumber, info.LinePosition, problem);
        }
    }
}

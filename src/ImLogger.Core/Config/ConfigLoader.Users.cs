using System.Xml;
using System.Xml.Linq;
using CsvHelper;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary>CSV lists and group files read while resolving users (live reload watches them).</summary>
        private readonly List<string> _referencedFiles = [];

        /// <summary>A user as some source lists them, before exclusions and seats.</summary>
        private sealed record Candidate(string Jid, string? Endpoint, string Source);

        /// <summary>
        /// <c>&lt;organization domain="..." endpoint="..." seats="N"&gt;</c> with its users. Users are taken in the
        /// config's order (a group's or CSV's members at the place of the &lt;group&gt; or &lt;csv&gt;), a user listed
        /// again keeps their first place, excluded users are dropped, and the first <c>seats</c> users are
        /// logged; the rest are over the limit and not logged (see docs/admin-guide.md, "Seats").
        /// </summary>
        private OrganizationConfig ReadOrganization(XElement e, Dictionary<string, (EndpointConfig, XElement)> endpoints)
        {
            Only(e, ["name", "domain", "endpoint", "seats", "time-zone", "logged-by-default", "group-chat-hosts"], ["user", "group", "csv", "exclude", "notifications", "approved-clients"]);
            var domains = ReadDomains(e);
            var domain = domains[0];
            var name = (string?)e.Attribute("name") is { } given ? given.Trim() : domain;
            if (name.Length == 0) throw Error(e.Attribute("name")!, "name must be a non-empty text (or be left out: the organization is then named by its first domain)");
            if (e.Attribute("seats") == null)
                throw Error(e, $"<organization domain=\"{string.Join(' ', domains)}\"> needs seats=\"N\", the number of provisioned (licensed) seats: logging never covers more users than that");
            var seatsAttr = e.Attribute("seats")!;
            if (!int.TryParse(seatsAttr.Value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seats)
                || seats < 1 || seats > 1_000_000)
                throw Error(seatsAttr, $"seats must be a positive whole number (the provisioned seats, 1 to 1000000), not '{seatsAttr.Value}'");
            var loggedByDefault = OnOff(e, "logged-by-default", false);
            var notifications = ReadNotifications(Single(e, "notifications", required: false));
            var endpoint = CheckEndpoint(e, Required(e, "endpoint"), endpoints, $"organization '{name}'");

            var candidates = new List<Candidate>();
            var excluded = new Dictionary<string, XElement>(StringComparer.Ordinal);
            var listed = new Dictionary<string, XElement>(StringComparer.Ordinal);
            foreach (var child in e.Elements())
            {
                switch (child.Name.LocalName)
                {
                    case "user":
                        Only(child, ["jid", "endpoint"], []);
                        var userJid = MemberJid(child, domains);
                        // Listed twice by hand is a slip (which endpoint was meant?); overlaps with groups and CSVs are normal.
                        if (!listed.TryAdd(userJid, child))
                            throw Error(child, $"user '{userJid}' is listed twice (first at line {Line(listed[userJid])}); list each logged user once");
                        candidates.Add(new Candidate(userJid, OwnEndpoint(child, endpoints, $"user '{userJid}'"), $"line {Line(child)}"));
                        break;
                    case "group":
                        candidates.AddRange(ReadGroup(child, domains, endpoints));
                        break;
                    case "csv":
                        candidates.AddRange(ReadCsv(child, domains, endpoints));
                        break;
                    case "exclude":
                        Only(child, ["jid"], []);
                        var jid = MemberJid(child, domains);
                        if (!excluded.TryAdd(jid, child))
                            throw Error(child, $"'{jid}' is excluded twice (first at line {Line(excluded[jid])})");
                        break;
                }
            }

            // First place wins; a user listed again must not ask for a different endpoint (which one would be right?).
            var ordered = new List<Candidate>();
            var byJid = new Dictionary<string, Candidate>(StringComparer.Ordinal);
            foreach (var c in candidates)
            {
                if (!byJid.TryGetValue(c.Jid, out var first))
                {
                    byJid[c.Jid] = c;
                    ordered.Add(c);
                }
                else if (c.Endpoint != null && (first.Endpoint ?? endpoint) != c.Endpoint)
                {
                    throw Error(e, $"user '{c.Jid}' is given endpoint '{c.Endpoint}' at {c.Source} but '{first.Endpoint ?? endpoint}' at {first.Source}; " +
                                   "a user's transcripts go to one endpoint: make the two agree");
                }
            }

            var kept = ordered.Where(c => !excluded.ContainsKey(c.Jid)).ToList();
            LoggedUserConfig ToUser(Candidate c) => new(c.Jid, c.Endpoint, c.Source);
            return new OrganizationConfig
            {
                Name = name, Domains = domains, LoggedByDefault = loggedByDefault, GroupChatHosts = ReadGroupChatHosts(e, domains),
                DefaultEndpoint = endpoint, Notifications = notifications, Seats = seats,
                Users = kept.Take(seats).Select(ToUser).ToList(),
                OverLimit = kept.Skip(seats).Select(ToUser).ToList(),
                Excluded = ordered.Where(c => excluded.ContainsKey(c.Jid)).Select(ToUser).ToList(),
                Exclusions = excluded.Keys.ToHashSet(StringComparer.Ordinal),
                // With logged-by-default an exclusion is for users ImLogger has not seen yet: none is "unmatched".
                UnmatchedExclusions = loggedByDefault ? []
                    : excluded.Where(x => !byJid.ContainsKey(x.Key)).Select(x => $"{x.Key} (line {Line(x.Value)})").ToList(),
                ApprovedClients = ReadApprovedClients(Single(e, "approved-clients", required: false)),
                ClientAnswerWithin = ReadClientAnswerWithin(Single(e, "approved-clients", required: false)),
                TimeZone = ReadTimeZone(e.Attribute("time-zone")),
            };
        }

        /// <summary>An IANA time zone ("Europe/Berlin"), for transcripts' local times beside UTC.</summary>
        private TimeZoneInfo? ReadTimeZone(XAttribute? a)
        {
            if (a == null) return null;
            try
            {
                return TimeZoneInfo.FindSystemTimeZoneById(a.Value.Trim());
            }
            catch (Exception x) when (x is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw Error(a, $"time-zone '{a.Value}' is not a time zone this machine knows; use an IANA name such as Europe/Berlin or America/New_York");
            }
        }

        /// <summary><c>domain="example.test"</c>, or several separated by spaces or commas
        /// (<c>domain="example.test example.net"</c>): one organization, one seat count, across its domains.</summary>
        private List<string> ReadDomains(XElement e)
        {
            var attr = e.Attribute("domain") ?? throw Error(e, "<organization> needs domain=\"...\" (one or more domains separated by spaces, such as example.test)");
            var domains = new List<string>();
            foreach (var token in attr.Value.Split([' ', ',', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                var d = token.ToLowerInvariant();
                if (d.Contains('@') || d.Contains('/'))
                    throw Error(attr, $"domain '{d}' must be a domain such as example.test (no user part, no resource)");
                if (domains.Contains(d))
                    throw Error(attr, $"domain '{d}' is given twice in the same organization");
                domains.Add(d);
            }
            return domains.Count > 0 ? domains
                : throw Error(attr, "domain must name at least one domain such as example.test");
        }

        /// <summary>"domain 'example.test'" or "domains 'example.test', 'example.net'", for messages.</summary>
        private static string DomainsText(IReadOnlyList<string> domains) =>
            (domains.Count == 1 ? "domain " : "domains ") + string.Join(", ", domains.Select(d => $"'{d}'"));

        private string MemberJid(XElement at, IReadOnlyList<string> domains)
        {
            var jid = NormalizeJid(at, Required(at, "jid"));
            return OrganizationConfig.InDomains(jid, domains) ? jid
                : throw Error(at.Attribute("jid")!, $"user '{jid}' is not in the organization's {DomainsText(domains)}; move it under the <organization> of its own domain");
        }

        private string? OwnEndpoint(XElement at, Dictionary<string, (EndpointConfig, XElement)> endpoints, string who) =>
            (string?)at.Attribute("endpoint") is { } own ? CheckEndpoint(at, own, endpoints, who) : null;

        /// <summary><c>&lt;group name="traders" [endpoint] [file="groups.txt"]&gt;&lt;member jid="..."/&gt;&lt;/group&gt;</c>: members
        /// listed inline, read from a Prosody mod_groups file (section <c>[traders]</c>), or both.</summary>
        private IEnumerable<Candidate> ReadGroup(XElement g, IReadOnlyList<string> domains, Dictionary<string, (EndpointConfig, XElement)> endpoints)
        {
            Only(g, ["name", "endpoint", "file"], ["member"]);
            var name = Required(g, "name").Trim();
            var endpoint = OwnEndpoint(g, endpoints, $"group '{name}'");
            var members = new List<Candidate>();
            foreach (var m in g.Elements("member"))
            {
                Only(m, ["jid"], []);
                members.Add(new Candidate(MemberJid(m, domains), endpoint, $"group '{name}' (line {Line(m)})"));
            }
            if (g.Attribute("file") is { } fileAttr)
                members.AddRange(ReadGroupFile(fileAttr, name, domains, endpoint));
            if (members.Count == 0)
                throw Error(g, $"group '{name}' has no members; add <member jid=\"...\"/> or file=\"...\" (a Prosody mod_groups file), or remove the group");
            return members;
        }

        /// <summary>
        /// Prosody's mod_groups format: <c>[Group name]</c> starts a group (a leading <c>+</c> is Prosody's
        /// "everyone sees it" marker and is ignored here), then one <c>jid</c> or <c>jid=Display name</c> per line.
        /// </summary>
        private IEnumerable<Candidate> ReadGroupFile(XAttribute fileAttr, string group, IReadOnlyList<string> domains, string? endpoint)
        {
            var path = ResolvePath(fileAttr.Value);
            _referencedFiles.Add(path);
            string[] lines;
            try { lines = ReadListText(path, fileAttr).ReplaceLineEndings("\n").Split('\n'); }
            catch (Exception x) when (x is IOException or UnauthorizedAccessException)
            {
                throw Error(fileAttr, $"cannot read the group file {path}: {x.Message}");
            }
            var members = new List<Candidate>();
            var groups = new List<string>();
            string? current = null;
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';')) continue;
                if (line.StartsWith('[') && line.EndsWith(']'))
                {
                    current = line[1..^1].Trim().TrimStart('+');
                    groups.Add(current);
                    continue;
                }
                if (current != group) continue;
                var jid = line.Split('=', 2)[0].Trim().ToLowerInvariant();
                var parts = jid.Split('@');
                if (parts.Length != 2 || parts[0].Length == 0 || jid.Contains('/') || jid.Any(char.IsWhiteSpace))
                    throw new ConfigException(path, i + 1, 1, $"'{jid}' is not a bare JID of the form user@domain (group '{group}', used by {file} line {Line(fileAttr.Parent!)})");
                if (!OrganizationConfig.InDomains(jid, domains))
                    throw new ConfigException(path, i + 1, 1, $"'{jid}' in group '{group}' is not in the organization's {DomainsText(domains)} ({file} line {Line(fileAttr.Parent!)}); only users of the domain can be logged by it");
                members.Add(new Candidate(jid, endpoint, $"group '{group}' ({Path.GetFileName(path)}:{i + 1})"));
            }
            if (!groups.Contains(group))
                throw Error(fileAttr, $"group '{group}' is not in {path} (groups there: {(groups.Count == 0 ? "none" : string.Join(", ", groups.Select(x => $"'{x}'")))}); the name must match a [section]");
            return members;
        }

        /// <summary>A list's text, read once and whole (so one parse sees one version of it), at most
        /// <see cref="ConfigFileSnapshot.MaxFileBytes"/> (a link to a device must not fill the memory).</summary>
        private string ReadListText(string path, XAttribute at)
        {
            var bytes = ConfigFileSnapshot.ReadCapped(path)
                ?? throw Error(at, $"{path} is larger than {ConfigFileSnapshot.MaxFileBytes / (1024 * 1024)} MiB (or never ends, like a device): not a user list; point the config at the list itself");
            return new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetString(bytes).TrimStart('\uFEFF');
        }

        /// <summary><c>&lt;csv path="users.csv" [endpoint]/&gt;</c>: a header row with a <c>jid</c> column and optionally an
        /// <c>endpoint</c> column (empty: the csv's or organization's); other columns (names, departments) are ignored.</summary>
        private IEnumerable<Candidate> ReadCsv(XElement c, IReadOnlyList<string> domains, Dictionary<string, (EndpointConfig, XElement)> endpoints)
        {
            Only(c, ["path", "endpoint"], []);
            var path = ResolvePath(Required(c, "path"));
            _referencedFiles.Add(path);
            var fallback = OwnEndpoint(c, endpoints, $"the CSV list {path}");
            var where = $"(listed by {file} line {Line(c)})";
            if (!File.Exists(path))
                throw Error(c.Attribute("path")!, $"the CSV file {path} does not exist");
            var result = new List<Candidate>();
            try
            {
                using var csv = CsvReader.FromText(ReadListText(path, c.Attribute("path")!), new CsvReaderOptions
                {
                    TrackLineNumbers = true,
                    MalformedData = CsvMalformedDataHandling.Throw,
                    CommentPrefix = '#',
                    TrimWhitespace = true,
                    IncludeValuesInExceptions = true,
                });
                var headers = csv.Headers.Select(h => h.Trim().ToLowerInvariant()).ToList();
                var jidColumn = headers.IndexOf("jid");
                var endpointColumn = headers.IndexOf("endpoint");
                if (jidColumn < 0)
                    throw new ConfigException(path, 1, 1, $"the CSV's first line must be a header naming a 'jid' column (and optionally 'endpoint'); found: {string.Join(", ", headers.Select(h => $"'{h}'"))} {where}");
                while (csv.Read())
                {
                    var line = (int)csv.LineNumber;
                    var jid = csv.FieldCount > jidColumn ? csv.GetString(jidColumn).Trim().ToLowerInvariant() : "";
                    var parts = jid.Split('@');
                    if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0 || jid.Contains('/') || jid.Any(char.IsWhiteSpace))
                        throw new ConfigException(path, line, jidColumn + 1, $"'{jid}' is not a bare JID of the form user@domain {where}");
                    if (!OrganizationConfig.InDomains(jid, domains))
                        throw new ConfigException(path, line, jidColumn + 1, $"user '{jid}' is not in the organization's {DomainsText(domains)} {where}");
                    var own = endpointColumn >= 0 && csv.FieldCount > endpointColumn ? csv.GetString(endpointColumn).Trim() : "";
                    if (own.Length > 0 && !endpoints.ContainsKey(own))
                        throw new ConfigException(path, line, endpointColumn + 1,
                            $"endpoint '{own}' of user '{jid}' is not defined; defined endpoints: {string.Join(", ", endpoints.Keys.Select(k => $"'{k}'"))} {where}");
                    result.Add(new Candidate(jid, own.Length > 0 ? own : fallback, $"{Path.GetFileName(path)}:{line}"));
                }
            }
            catch (CsvFormatException x)
            {
                throw new ConfigException(path, (int)x.LineNumber, 0, $"not a valid CSV file: {x.Message} {where}", x);
            }
            catch (Exception x) when (x is IOException or UnauthorizedAccessException)
            {
                throw Error(c.Attribute("path")!, $"cannot read the CSV file {path}: {x.Message}");
            }
            return result;
        }
    }
}

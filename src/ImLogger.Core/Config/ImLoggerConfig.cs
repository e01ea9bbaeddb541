namespace ImLogger.Config;

/// <summary>The whole of an admin's configuration, checked and resolved (paths absolute, secret read).</summary>
public sealed record ImLoggerConfig
{
    /// <summary>Absolute path of the file this was loaded from.</summary>
    public required string SourcePath { get; init; }

    public required ComponentSettings Component { get; init; }

    /// <summary>Absolute path of the LiteDB spool file.</summary>
    public required string SpoolPath { get; init; }

    /// <summary>Absolute path of the file holding the spool's encryption key (its text keys the records' AES-GCM), or null for an unencrypted spool.</summary>
    public string? SpoolKeyFile { get; init; }

    /// <summary>A conversation with no new event for this long is closed and its transcript delivered.</summary>
    public required TimeSpan IdleClose { get; init; }

    /// <summary>Copies of the same stanza arriving within this window are archived once (the server copies
    /// a stanza once per logged party and per receiving resource).</summary>
    public TimeSpan DedupWindow { get; init; } = TimeSpan.FromSeconds(60);

    public required IReadOnlyList<OrganizationConfig> Organizations { get; init; }

    public required IReadOnlyList<EndpointConfig> Endpoints { get; init; }

    /// <summary>How long after a transcript closed a transient delivery failure is still retried (<c>&lt;endpoints
    /// retry-for&gt;</c>, 7 days by default) for endpoints without <c>max-attempts</c>; then it is a dead letter.</summary>
    public TimeSpan RetryFor { get; init; } = DefaultRetryFor;

    /// <summary>The default of <see cref="RetryFor"/>: an archive down over a long weekend catches up by itself.</summary>
    public static readonly TimeSpan DefaultRetryFor = TimeSpan.FromDays(7);

    /// <summary>Tap or inline, and inline mode's failure mode and timeout.</summary>
    public AttachSettings Attach { get; init; } = new();

    /// <summary>This instance's part in a failover pair (&lt;failover&gt;); null for a single instance.</summary>
    public FailoverSettings? Failover { get; init; }

    /// <summary>The instances sharing this server, each its own component (&lt;scale-out&gt;, docs/scale-out.md); null for one.</summary>
    public ScaleOutSettings? ScaleOut { get; init; }

    /// <summary>The site's telephony gateways and meeting services (&lt;services&gt;), or the classifier's default rules.</summary>
    public Classifier.ClassifierOptions Services { get; init; } = Classifier.ClassifierOptions.Default;

    /// <summary>How edits are taken in while the service runs (settle time, confirmation of sudden drops).</summary>
    public ReloadSettings Reload { get; init; } = new();

    /// <summary>Where <c>/metrics</c> and <c>/health</c> are served, or null (no &lt;metrics&gt;).</summary>
    public MetricsSettings? Metrics { get; init; }

    /// <summary>Extra restrictions for logged users.</summary>
    public RestrictionSettings Restrictions { get; init; } = new();

    /// <summary>Every listed user within the seats (user, group, CSV) mapped to the name of the endpoint that receives
    /// their transcripts. Users of organizations logged by default get seats at run time: see <see cref="Seats.SeatPlan"/>.</summary>
    public IReadOnlyDictionary<string, string> LoggedUsers =>
        _loggedUsers ??= Organizations.SelectMany(o => o.Users.Select(u => (u.Jid, Endpoint: u.Endpoint ?? o.DefaultEndpoint)))
                                      .ToDictionary(u => u.Jid, u => u.Endpoint, StringComparer.Ordinal);

    private IReadOnlyDictionary<string, string>? _loggedUsers;

    /// <summary>Files the config reads besides itself (CSV lists, group files), absolute paths: a change to
    /// one of them is a change of the config (live reload watches them).</summary>
    public IReadOnlyList<string> ReferencedFiles { get; init; } = [];
}

/// <summary>The XEP-0114 connection to the XMPP server.</summary>
public sealed record ComponentSettings
{
    /// <summary>The component's domain, e.g. archive.example.test.</summary>
    public required string Jid { get; init; }
    public required string Host { get; init; }
    public required int Port { get; init; }

    /// <summary>The shared secret, read from the file or environment variable the config names. Never logged.</summary>
    public required string Secret { get; init; }

    /// <summary>Where the secret came from, for messages ("environment variable X", "file /etc/...").</summary>
    public required string SecretSource { get; init; }

    /// <summary>The per-stanza size limit: a larger stanza is read up to it and recorded (tap) or refused (inline) by
    /// itself, and the connection goes on; inline requests are split below it (imlogger_max_batch_bytes).</summary>
    public int MaxStanzaBytes { get; init; } = 1024 * 1024;

    public override string ToString() => $"{Jid} via {Host}:{Port} (secret from {SecretSource})";
}

/// <summary>An organization: the users of its domains whom it must log.</summary>
public sealed record OrganizationConfig
{
    /// <summary>The organization's domains (at least one): its users are those whose JID is in one of them.</summary>
    public required IReadOnlyList<string> Domains { get; init; }

    /// <summary>The name admins know it by (the config's name="...", or its first domain).</summary>
    public string Name { get => _name ?? Domains[0]; init => _name = value; }

    private readonly string? _name;

    /// <summary>How check-config and report head the organization: its name, with its domains when they say more.</summary>
    public string Label => Name == Domains[0] && Domains.Count == 1 ? Name : $"{Name} ({string.Join(", ", Domains)})";

    /// <summary>Whether a bare JID (or a domain) is in one of the organization's domains.</summary>
    public bool Owns(string bareJidOrDomain) => InDomains(bareJidOrDomain, Domains);

    /// <summary>Whether a bare JID (or a domain) is in one of <paramref name="domains"/> (also used while the config is read).</summary>
    public static bool InDomains(string bareJidOrDomain, IReadOnlyList<string> domains)
    {
        ArgumentNullException.ThrowIfNull(bareJidOrDomain);
        ArgumentNullException.ThrowIfNull(domains);
        // Asked for the sender of every stanza: no allocation.
        var domain = bareJidOrDomain.AsSpan(bareJidOrDomain.IndexOf('@') + 1);
        foreach (var d in domains)
            if (domain.Equals(d, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>
    /// Everyone in the organization's domains is logged, not only the listed users: listed users take seats
    /// first (config order), then users as ImLogger first sees them send, up to <see cref="Seats"/>. See
    /// <see cref="Seats.SeatPlan"/> and docs/admin-guide.md, "Logged by default".
    /// </summary>
    public bool LoggedByDefault { get; init; }

    /// <summary>Inline mode: the MUC components this organization's logged users use (<c>group-chat-hosts</c>), on which
    /// <c>imlogger prosody-config</c> loads mod_imlogger_muc (docs/inline-protocol.md, "Group chats").</summary>
    public IReadOnlyList<string> GroupChatHosts { get; init; } = [];

    /// <summary>Every &lt;exclude&gt;d bare JID: never logged, never given a seat, listed or not.</summary>
    public IReadOnlySet<string> Exclusions { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Endpoint for users who do not name their own.</summary>
    public required string DefaultEndpoint { get; init; }

    /// <summary>The users who are logged: those listed (individually, by group, by CSV), minus the excluded,
    /// in the config's order, up to <see cref="Seats"/>. Never more than the provisioned seats.</summary>
    public required IReadOnlyList<LoggedUserConfig> Users { get; init; }

    /// <summary>Provisioned seats (the config requires them); null only for configurations built in code.</summary>
    public int? Seats { get; init; }

    /// <summary>Users listed for logging beyond <see cref="Seats"/>, in the config's order: they are NOT logged,
    /// and every start, reload and check-config names them.</summary>
    public IReadOnlyList<LoggedUserConfig> OverLimit { get; init; } = [];

    /// <summary>Users listed (by a group or CSV, typically) but excluded with &lt;exclude jid="..."/&gt;: not logged, no seat taken.</summary>
    public IReadOnlyList<LoggedUserConfig> Excluded { get; init; } = [];

    /// <summary>&lt;exclude&gt; entries that match no listed user (a typo, or a pre-emptive exclusion): shown so that a
    /// misspelt exclusion is noticed.</summary>
    public IReadOnlyList<string> UnmatchedExclusions { get; init; } = [];

    /// <summary>The organization's time zone: transcripts show its local times beside UTC. Null: UTC only.</summary>
    public TimeZoneInfo? TimeZone { get; init; }

    /// <summary>The clients this organization's logged users may use (inline mode enforces it); null: any client.</summary>
    public IReadOnlyList<ApprovedClient>? ApprovedClients { get; init; }

    /// <summary>How long a logged user's new session has to answer the server's software version query when
    /// <see cref="ApprovedClients"/> are listed (<c>&lt;approved-clients answer-within="10s"&gt;</c>); a session that does
    /// not answer in time is closed (fail-closed). The server checks it at sign-in (docs/inline-protocol.md).</summary>
    public TimeSpan ClientAnswerWithin { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Who is told that conversations with this organization's logged users are logged, and how.</summary>
    public NotificationSettings Notifications { get; init; } = new();
}

/// <summary>
/// An organization's archive notices. Both switches are on by default: turning one off means
/// participants are not told that the conversation is logged, which is the organization's legal
/// decision to make.
/// </summary>
public sealed record NotificationSettings
{
    /// <summary>The longest custom text accepted.</summary>
    public const int MaxTextLength = 500;

    /// <summary>The notice sent when an organization sets no text of its own.</summary>
    public const string DefaultText =
        "All instant messages sent in this session to and from this account, as well as the initiation and termination of any other " +
        "communication modes (e.g. voice call, video call) will be logged and are subject to archival, monitoring, or review and/or " +
        "disclosure to someone other than the recipient.";

    /// <summary>Notify participants whose domain is the organization's.</summary>
    public bool NotifyInside { get; init; } = true;

    /// <summary>Notify participants from any other domain.</summary>
    public bool NotifyOutside { get; init; } = true;

    /// <summary>The text sent (the default or the organization's own, at most <see cref="MaxTextLength"/> characters).</summary>
    public string Text { get; init; } = DefaultText;
}

/// <summary>One logged user.</summary>
/// <param name="Jid">Bare JID, lower case.</param>
/// <param name="Endpoint">The endpoint for this user's transcripts, or null for the organization's default.</param>
/// <param name="Source">Where the config lists the user ("line 12", "group 'traders' (groups.txt:4)", "users.csv:3"), for summaries.</param>
public sealed record LoggedUserConfig(string Jid, string? Endpoint, string? Source = null);

/// <summary>Transcripts written as .eml files into a local directory.</summary>
public sealed record DirectoryEndpointConfig : EndpointConfig
{
    /// <inheritdoc />
    public override string TypeName => "directory";

    /// <summary>Absolute path of the directory.</summary>
    public required string Path { get; init; }
}

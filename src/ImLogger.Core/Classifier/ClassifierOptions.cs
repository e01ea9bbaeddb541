namespace ImLogger.Classifier;

/// <summary>
/// Site knowledge the classifier needs to name a session correctly: which domains are telephony
/// gateways (a call to them is a phone call) and which host meetings (an invitation to them is a meeting).
/// </summary>
/// <remarks>
/// Default rule when a list is not given (see docs/events.md): a telephony gateway is a domain whose
/// first label is <c>sip</c>, <c>tel</c>, <c>phone</c>, <c>pstn</c>, <c>voip</c> or <c>gateway</c>, and any JID whose
/// local part is an E.164 number (<c>+15551234567@cheogram.com</c>); a meeting service is a domain whose first
/// label is <c>meet</c>, <c>meeting</c>, <c>meetings</c>, <c>jitsi</c> or <c>conference-call</c>. A given list replaces
/// the default (E.164 local parts still count as phone numbers).
/// </remarks>
public sealed record ClassifierOptions
{
    private static readonly HashSet<string> GatewayLabels = new(["sip", "tel", "phone", "pstn", "voip", "gateway"], StringComparer.OrdinalIgnoreCase);
    private static readonly HashSet<string> MeetingLabels = new(["meet", "meeting", "meetings", "jitsi", "conference-call"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Telephony gateway domains; null for the default rule.</summary>
    public IReadOnlyCollection<string>? TelephonyGateways { get; init; }

    /// <summary>Meeting service domains; null for the default rule.</summary>
    public IReadOnlyCollection<string>? MeetingServices { get; init; }

    /// <summary>The defaults.</summary>
    public static ClassifierOptions Default { get; } = new();

    /// <summary>True if a call to or from this JID (or tel:/sip: URI) is a phone call.</summary>
    public bool IsTelephony(string jidOrUri)
    {
        if (jidOrUri.StartsWith("tel:", StringComparison.OrdinalIgnoreCase) || jidOrUri.StartsWith("sip:", StringComparison.OrdinalIgnoreCase)
            || jidOrUri.StartsWith("sips:", StringComparison.OrdinalIgnoreCase))
            return true;
        var bare = JidText.Bare(jidOrUri);
        var at = bare.IndexOf('@');
        if (at > 1 && bare[0] == '+' && bare[1..at].All(char.IsAsciiDigit)) return true;
        var domain = at < 0 ? bare : bare[(at + 1)..];
        return Matches(domain, TelephonyGateways, GatewayLabels);
    }

    /// <summary>True if a room on this JID's domain is a meeting (a conference service for calls, not a chat room).</summary>
    public bool IsMeetingService(string jid)
    {
        var bare = JidText.Bare(jid);
        var at = bare.IndexOf('@');
        return Matches(at < 0 ? bare : bare[(at + 1)..], MeetingServices, MeetingLabels);
    }

    private static bool Matches(string domain, IReadOnlyCollection<string>? configured, HashSet<string> defaultLabels)
    {
        if (configured != null) return configured.Any(d => string.Equals(d, domain, StringComparison.OrdinalIgnoreCase));
        var dot = domain.IndexOf('.');
        return dot > 0 && defaultLabels.Contains(domain[..dot]);
    }
}

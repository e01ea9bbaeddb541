using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Inline;
using ImLogger.Outbound;

namespace ImLogger.Policy;

/// <summary>A sign-in judged: whether the session may stay, the text it is told when not, and what ImLogger's log and the
/// archive say of it (what the client claimed; never sent to anyone).</summary>
/// <param name="Allowed">The session may stay.</param>
/// <param name="Text">For a refused session: the message it receives and its stream error's text (ImLogger's words and the
/// config's names only).</param>
/// <param name="Detail">What the client declared, or that it declared nothing, for the log and the archive.</param>
public sealed record SignInVerdict(bool Allowed, string? Text, string Detail);

public sealed partial class CompliancePolicy
{
    /// <summary>The longest software name or version an approved client is believed to send; a longer one is refused as
    /// malformed (no real client needs more, and a megabyte of "version" is not a version).</summary>
    public const int MaxClientText = 100;

    /// <summary>
    /// Approved clients at sign-in: judges a logged user's new session by its own answer to the server's version query
    /// (XEP-0092 name and version; the XEP-0115 caps node of its first presence when it came first). An organization
    /// without <c>&lt;approved-clients&gt;</c>, or a user who holds no seat, lets any client in. A session that did not
    /// answer, answered with an error, too much or malformed text, or flooded the server meanwhile is refused like an
    /// unapproved client (fail-closed). The answer is recorded for the session (<see cref="ClientRegistry"/>), so that the
    /// per-stanza rule judges its later stanzas by the same answer and the client is never asked twice.
    /// </summary>
    /// <remarks>What this proves: that the session's software <em>says</em> it is an approved client at an approved version.
    /// Both the name and the caps node are text the client chooses; a modified or hostile client can copy an approved
    /// one's answer. The check keeps out the clients people install and forget to update, not a determined forger.</remarks>
    /// <param name="request">The adapter's request.</param>
    /// <param name="logged">Whether the user holds a seat (logged by default: over the limit is not logged).</param>
    public SignInVerdict DecideSignIn(ClientCheckRequest request, bool logged)
    {
        ArgumentNullException.ThrowIfNull(request);
        var approved = organizationOf?.Invoke(request.User)?.ApprovedClients;
        var caps = request.Caps;
        string? capsNode = (string?)caps?.Attribute("node"), capsVer = (string?)caps?.Attribute("ver");
        var query = request.Answer == ClientAnswer.Result ? request.Reply?.Elements().FirstOrDefault(e => e.Name == OutboundStanzas.VersionNs + "query") : null;
        string? name = (string?)query?.Element(OutboundStanzas.VersionNs + "name"), version = (string?)query?.Element(OutboundStanzas.VersionNs + "version");
        var (declared, malformed) = Declared(request, query, name, version, capsNode);
        if (approved == null || !logged) return new SignInVerdict(true, null, declared);

        var allowedList = string.Join(", ", approved);
        var text = $"This client is not approved for users whose conversations are logged for compliance, so this session was closed. Sign in with one of: {allowedList}.";
        if (malformed) return new SignInVerdict(false, text, declared);
        ApprovedClient.TryParseVersion(version, out var parsed);
        clients?.RecordSignIn(request.Session, name, version, parsed, capsNode, capsVer);
        if (approved.Any(a => a.Matches(name, capsNode, parsed))) return new SignInVerdict(true, null, declared);
        var yours = Describe(approved, new ClientRegistry.ClientInfo(capsNode, capsVer, name, version, parsed, true, true));
        if (yours.Length > 0)
            text = $"This client{yours} is older than the versions approved for users whose conversations are logged for compliance, so this session was closed. Update it, or sign in with one of: {allowedList}.";
        return new SignInVerdict(false, text, declared);
    }

    /// <summary>What the session declared, for the log and the archive (quoted, cut, control characters escaped), and whether
    /// its answer is unusable.</summary>
    private static (string Declared, bool Malformed) Declared(ClientCheckRequest request, XElement? query, string? name, string? version, string? capsNode)
    {
        var caps = capsNode == null ? "" : $", caps node '{ClientRegistry.Quote(capsNode)}'";
        switch (request.Answer)
        {
            case ClientAnswer.None: return ($"the client did not answer the version query in time{caps}", true);
            case ClientAnswer.Error: return ($"the client answered the version query with an error{caps}", true);
            case ClientAnswer.TooLarge: return ($"the client answered the version query with {request.Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "too many"} bytes{caps}", true);
            case ClientAnswer.Flood: return ($"the client sent too many stanzas before answering the version query{caps}", true);
        }
        var claim = $"a client that calls itself '{ClientRegistry.Quote($"{name} {version}".Trim())}'{caps}";
        if (query == null || string.IsNullOrWhiteSpace(name))
            return ($"the client's answer names no software{caps}", true);
        if (name.Length > MaxClientText || (version?.Length ?? 0) > MaxClientText || (name + version).Any(char.IsControl))
            return ($"{claim}: malformed (over {MaxClientText} characters, or control characters)", true);
        return (claim, false);
    }
}

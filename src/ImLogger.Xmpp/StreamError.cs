using System.Xml.Linq;

namespace ImLogger.Xmpp;

/// <summary>
/// A <c>&lt;stream:error&gt;</c> from the server (RFC 6120 section 4.9), with an explanation an operator can act on.
/// </summary>
/// <param name="Condition">The defined condition, e.g. <c>not-authorized</c>; <c>undefined-condition</c> when none was given.</param>
/// <param name="Text">The optional human-readable <c>&lt;text/&gt;</c> (or, for <c>see-other-host</c>, the new host).</param>
public sealed record StreamError(string Condition, string? Text)
{
    /// <summary>Namespace of the stream element itself (<c>stream:</c> prefix).</summary>
    public static readonly XNamespace StreamsNamespace = "http://etherx.jabber.org/streams";

    /// <summary>Namespace of the condition elements inside a stream error.</summary>
    public static readonly XNamespace ErrorsNamespace = "urn:ietf:params:xml:ns:xmpp-streams";

    // Conditions that mean the server will refuse us again however often we retry: configuration must change.
    private static readonly HashSet<string> FatalConditions =
    [
        "not-authorized", "host-unknown", "host-gone", "improper-addressing", "invalid-from",
        "invalid-namespace", "bad-namespace-prefix", "unsupported-encoding", "unsupported-feature",
        "unsupported-version", "see-other-host",
    ];

    /// <summary>True when reconnecting cannot fix the error.</summary>
    public bool IsFatal => FatalConditions.Contains(Condition);

    /// <summary>Parses a <c>&lt;stream:error&gt;</c> element.</summary>
    public static StreamError Parse(XElement error)
    {
        ArgumentNullException.ThrowIfNull(error);
        string? text = null;
        XElement? condition = null;
        foreach (var child in error.Elements())
        {
            if (child.Name.Namespace != ErrorsNamespace)
                continue; // application-specific conditions carry nothing we can act on
            if (child.Name.LocalName == "text")
                text = child.Value;
            else
                condition ??= child;
        }
        // see-other-host carries the new host as its content; keep it visible to the operator.
        if (string.IsNullOrEmpty(text) && condition is not null && !string.IsNullOrWhiteSpace(condition.Value))
            text = condition.Value.Trim();
        return new StreamError(condition?.Name.LocalName ?? "undefined-condition", string.IsNullOrEmpty(text) ? null : text);
    }

    /// <summary>Explains the error in words an operator understands, without naming the component.</summary>
    public string Explain() => Explain("this component");

    /// <summary>Explains the error in words an operator understands, naming the component domain.</summary>
    public string Explain(string componentJid)
    {
        var c = componentJid;
        var what = Condition switch
        {
            "not-authorized" => $"the server refused the component's handshake: the secret in ImLogger's config does not match component_secret for {c} in Prosody's config",
            "host-unknown" => $"the server does not know the component domain '{c}': add `Component \"{c}\"` to its config",
            "host-gone" => $"the server no longer serves the component domain '{c}': check the `Component \"{c}\"` entry in its config",
            "conflict" => $"another component is already connected as {c} (a second ImLogger instance, or a stale session the server has not yet dropped)",
            "improper-addressing" => $"the server says the stream is wrongly addressed: check that ComponentJid '{c}' is a plain domain",
            "invalid-from" => $"the server rejected a 'from' address: ImLogger may only send from {c} or its subdomains",
            "invalid-namespace" => "the server rejected the stream namespace: this is not a component port, or ImLogger has a bug (expected jabber:component:accept)",
            "bad-namespace-prefix" => "the server rejected a namespace prefix ImLogger sent (a bug in ImLogger)",
            "unsupported-encoding" => "the server rejected the stream encoding (ImLogger always sends UTF-8): check the port is an XMPP component port",
            "unsupported-feature" => "the server requires a stream feature ImLogger does not implement",
            "unsupported-version" => "the server does not support the stream version ImLogger offered",
            "see-other-host" => "the server asks ImLogger to connect to another host" + (Text is null ? "" : $" ({Text})") + ": update Host/Port in ImLogger's config",
            "bad-format" => "the server could not process XML that ImLogger sent (a bug in ImLogger)",
            "not-well-formed" => "the server says ImLogger sent XML that is not well-formed (a bug in ImLogger)",
            "invalid-xml" => "the server says ImLogger sent XML that fails validation (a bug in ImLogger)",
            "restricted-xml" => "the server says ImLogger sent restricted XML such as a comment or DTD (a bug in ImLogger)",
            "unsupported-stanza-type" => "the server received a top-level element it does not support from ImLogger (a bug in ImLogger)",
            "connection-timeout" => "the server closed the stream because it was idle for too long: lower KeepAliveInterval",
            "policy-violation" => "the server closed the stream for a local policy violation (for example a rate or size limit in Prosody's config)",
            "remote-connection-failed" => "the server could not reach a remote server it needed for this stream",
            "reset" => "the server reset the stream (for example after a security-relevant change); reconnecting",
            "resource-constraint" => "the server is short of resources (memory, connections) and closed the stream",
            "system-shutdown" => "the server is shutting down or restarting",
            "internal-server-error" => "the server had an internal error; see Prosody's log",
            "undefined-condition" => "the server ended the stream without a defined reason",
            _ => $"the server ended the stream with the unrecognised condition '{Condition}'",
        };
        return Text is null || Condition == "see-other-host" ? what : $"{what} (server said: \"{Text}\")";
    }
}

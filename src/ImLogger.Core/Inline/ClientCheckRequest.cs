using System.Xml.Linq;
using ImLogger.Envelope;
using ImLogger.Outbound;

namespace ImLogger.Inline;

/// <summary>How a new session answered the server's software version query (XEP-0092), as the adapter saw it.</summary>
public enum ClientAnswer
{
    /// <summary>An iq result: <see cref="ClientCheckRequest.Reply"/> holds it.</summary>
    Result,
    /// <summary>An iq error (the client does not implement XEP-0092, or will not say).</summary>
    Error,
    /// <summary>No answer within the sign-in timeout.</summary>
    None,
    /// <summary>An answer over the adapter's bound (4 KB): not forwarded, <see cref="ClientCheckRequest.Size"/> says how big.</summary>
    TooLarge,
    /// <summary>The session sent more stanzas than the adapter keeps before answering.</summary>
    Flood,
}

/// <summary>
/// Approved clients at sign-in (docs/inline-protocol.md): the adapter asked a logged user's new session which software it
/// runs and keeps the session apart (nothing delivered to it, nothing it sends routed) until ImLogger answers this
/// request with <see cref="Verdict"/>:
/// <c>&lt;iq type="set"&gt;&lt;client-check xmlns="urn:imlogger:inline:0" user="alice@example.test" session="alice@example.test/laptop"
/// answer="result"&gt;&lt;iq xmlns="jabber:client" type="result"&gt;…&lt;/iq&gt;&lt;c xmlns="http://jabber.org/protocol/caps" …/&gt;&lt;/client-check&gt;&lt;/iq&gt;</c>.
/// </summary>
/// <param name="Iq">The request.</param>
/// <param name="User">The logged user's bare JID.</param>
/// <param name="Session">The session's full JID (the server bound it).</param>
/// <param name="Answer">How the session answered.</param>
/// <param name="Reply">The session's iq result or error, exactly as it sent it (jabber:client), when it answered.</param>
/// <param name="Caps">The XEP-0115 <c>&lt;c/&gt;</c> of the session's first presence, when one came before the answer.</param>
/// <param name="Size">The size of an answer too large to forward, in bytes.</param>
public sealed record ClientCheckRequest(XElement Iq, string User, string Session, ClientAnswer Answer, XElement? Reply, XElement? Caps, long? Size)
{
    private static readonly XNamespace CapsNs = "http://jabber.org/protocol/caps";

    /// <summary>Reads a request; null if the stanza is not one. A request with a missing or unknown attribute is read
    /// with <paramref name="problem"/> set, so that it is answered (refused), never left without an answer.</summary>
    public static ClientCheckRequest? TryParse(XElement iq, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(iq);
        problem = null;
        if (iq.Name.LocalName != "iq" || (string?)iq.Attribute("type") != "set") return null;
        var check = iq.Element(InlineRequest.Ns + "client-check");
        if (check == null) return null;
        var user = (string?)check.Attribute("user") ?? "";
        var session = (string?)check.Attribute("session") ?? "";
        ClientAnswer? answer = (string?)check.Attribute("answer") switch
        {
            "result" => ClientAnswer.Result,
            "error" => ClientAnswer.Error,
            "none" => ClientAnswer.None,
            "too-large" => ClientAnswer.TooLarge,
            "flood" => ClientAnswer.Flood,
            _ => null,
        };
        var reply = check.Elements().FirstOrDefault(e => e.Name.LocalName == "iq");
        if (user.Length == 0 || session.Length == 0) problem = "a client-check without user or session";
        else if (answer == null) problem = $"a client-check with an unknown answer '{Shorten((string?)check.Attribute("answer") ?? "")}'";
        else if (answer is ClientAnswer.Result or ClientAnswer.Error && reply == null) problem = "a client-check that says the client answered, without its answer";
        long? size = long.TryParse((string?)check.Attribute("size"), out var s) ? s : null;
        return new ClientCheckRequest(iq, user, session, answer ?? ClientAnswer.None, reply, check.Element(CapsNs + "c"), size);
    }

    /// <summary>The answer to the request: <c>&lt;client-verdict allow="true"/&gt;</c>, or <c>allow="false"</c> with the text the
    /// adapter sends the session before it closes it (also the stream error's text).</summary>
    public XElement Verdict(bool allow, string? text) => OutboundStanzas.ClientVerdict(Iq, allow, text);

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;
}

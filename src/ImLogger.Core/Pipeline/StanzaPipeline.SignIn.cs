using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using Microsoft.Extensions.Logging;

namespace ImLogger.Pipeline;

public sealed partial class StanzaPipeline
{
    /// <summary>Approved clients at sign-in (docs/inline-protocol.md): judges a new session the server keeps apart until
    /// it is answered. A refused sign-in is archived (a <see cref="EventKind.Refused"/> event between the user and their
    /// server, with the session's answer as raw XML) before the verdict goes out: the caller stores, then replies.</summary>
    /// <returns>False if the stanza is not such a request.</returns>
    private bool CheckSignIn(XElement stanza, List<ConversationEvent> events, List<XElement> replies)
    {
        if (ClientCheckRequest.TryParse(stanza, out var problem) is not { } request) return false;
        var relay = (string?)stanza.Attribute("from") ?? "";
        // Trust only the server: only the module on a configured host asks, and only about its own users' sessions.
        if (!decoder.IsServerHost(relay) || !JidText.Bare(request.Session).Equals(request.User, StringComparison.OrdinalIgnoreCase)
            || !DomainOf(request.User).Equals(relay, StringComparison.OrdinalIgnoreCase) || !request.Session.Contains('/'))
        {
            logger.LogWarning("Ignored a client check from {Sender} about {Session}: only the inline module of the session's own server host sends them",
                relay.Length == 0 ? "(no from)" : relay, Shown(request.Session));
            replies.Add(ComponentReplies.Error(stanza, "auth", "forbidden", "Only the XMPP server's ImLogger module may send this."));
            return true;
        }
        if (problem != null)
        {
            logger.LogWarning("Refusing a malformed client check from {Relay}: {Problem}", relay, problem);
            replies.Add(ComponentReplies.Error(stanza, "modify", "bad-request", "ImLogger could not read this client check."));
            return true;
        }
        var verdict = policy.DecideSignIn(request, seats.IsLogged(request.User));
        if (verdict.Allowed)
        {
            logger.LogInformation("Sign-in of {Session} allowed: {Detail}", request.Session, verdict.Detail);
            replies.Add(request.Verdict(true, null));
            return true;
        }
        logger.LogWarning("Sign-in of {Session} REFUSED (unapproved-client: {Detail}); the server closes the session", request.Session, verdict.Detail);
        var now = DateTimeOffset.UtcNow;
        events.Add(new ConversationEvent
        {
            Id = Guid.NewGuid().ToString("N"),
            ReceivedUtc = now,
            Kind = EventKind.Refused,
            Direction = Direction.Outgoing,
            ConversationType = ConversationType.OneToOne,
            ConversationKey = JidText.PairKey(request.User.ToLowerInvariant(), relay.ToLowerInvariant()),
            From = request.Session,
            To = relay.ToLowerInvariant(),
            SenderBareJid = request.User.ToLowerInvariant(),
            Text = $"sign-in of {request.Session}",
            Rule = RefusalRule.UnapprovedClient,
            Reason = $"{verdict.Text} ({verdict.Detail})",
            LoggedUsers = [request.User.ToLowerInvariant()],
            RawXml = request.Iq.Elements().First().ToString(SaveOptions.DisableFormatting), // the session's answer and caps, as the server read them
        });
        replies.Add(request.Verdict(false, verdict.Text));
        return true;
    }

    private static string DomainOf(string bare) => bare[(bare.IndexOf('@') + 1)..];

    private static string Shown(string jid) => jid.Length > 80 ? jid[..80] + "…" : jid;
}

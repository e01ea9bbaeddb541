using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Xmpp;
using Microsoft.Extensions.Logging;

namespace ImLogger.Pipeline;

/// <summary>Stanzas over a per-stanza limit (docs/inline-protocol.md and docs/tap-mode.md, "Limits"): the reader kept
/// them up to the limit and marked them; here each becomes a record of what it was (tap) or a refusal of that one held
/// stanza (inline), and nothing else in the stream or the batch is affected.</summary>
public sealed partial class StanzaPipeline
{
    /// <summary>Elements around a copied stanza on the wire: message, forwarded.</summary>
    private const int TapLevelsAbove = 2;

    /// <summary>Elements around a held stanza on the wire: iq, batch, item.</summary>
    private const int InlineLevelsAbove = 3;

    /// <summary>The ids of the request's items the reader had to cut. Items it read whole are decided as usual (they
    /// are archived whole); items after a size cut were never seen, get no verdict, and the server refuses them.</summary>
    private HashSet<string> CutItems(InlineRequest request, StanzaOverLimit? over, string relay)
    {
        var cut = new HashSet<string>(StringComparer.Ordinal);
        if (over == null) return cut;
        var items = request.Iq.Element(InlineRequest.Ns + "batch")?.Elements(InlineRequest.Ns + "item").ToList() ?? [];
        foreach (var item in items.Where(StanzaLimits.IsCut))
            cut.Add((string?)item.Attribute("id") ?? "");
        logger.LogWarning("Verdict request {Request} from {Relay} was over a per-stanza limit ({What}): {Cut} held stanza(s) refused as over the limit, {Whole} read whole and decided as usual{Unseen}",
            (string?)request.Iq.Attribute("id"), relay, DescribeOverLimit(request.Iq, over), cut.Count, items.Count - cut.Count,
            over.TooLarge ? "; any after the cut were not seen and get no verdict, so the server refuses them. The inline module splits its requests below imlogger_max_batch_bytes: check that it matches max-stanza-bytes (imlogger prosody-config)" : "");
        return cut;
    }

    /// <summary>Refuses one held stanza the reader had to cut, archives the refusal with what the stanza was, and tells
    /// the logged user.</summary>
    private void RefuseOverLimit(InlineItem item, TapEnvelope envelope, StanzaOverLimit over,
        List<(string, InlineVerdict)> verdicts, List<ConversationEvent> events, List<XElement> replies)
    {
        var verdict = OverLimitRefusal.For(item, over);
        verdicts.Add((item.Id, verdict));
        var record = ClassifyOne(envelope, over, InlineLevelsAbove);
        var what = StanzaClassifier.DescribeOverLimit(item.Stanza, over, InlineLevelsAbove);
        logger.LogWarning("Refused {Direction} {Kind} of {User}: over a per-stanza limit ({What})", item.Direction, item.Stanza.Name.LocalName, item.User, what);
        events.Add(RefusedEvent(envelope, item, verdict, record) with
        {
            Text = StanzaClassifier.OverLimitText(item.Stanza),
            Reason = what,
        });
        if (verdict.NoticeToLoggedUser is { } notice)
            replies.Add(RefusalNotice(item, notice));
    }

    /// <summary>What the reader measured, for the log: the top-level element (the envelope or the request) and its numbers.</summary>
    private static string DescribeOverLimit(XElement stanza, StanzaOverLimit over) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{stanza.Name.LocalName} of {over.Bytes:N0} bytes (limit {over.MaxBytes:N0}), nested {over.Depth} deep (limit {over.MaxDepth})");
}

using System.Globalization;
using System.Text;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Xmpp;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Text of an over-limit stanza kept in its record.</summary>
    public const int OverLimitTextChars = 1024;

    /// <summary>
    /// A copied stanza the reader could not read whole (<see cref="StanzaLimits"/>): one <see cref="EventKind.OverLimit"/>
    /// record of what it was, in the conversation it belongs to, instead of what its partial tree would classify as
    /// (a cut body is not what was said, and a cut payload is not a payload).
    /// </summary>
    /// <param name="envelope">The copy; its stanza is the partial tree.</param>
    /// <param name="over">What the reader measured.</param>
    /// <param name="levelsAbove">Elements around the stanza on the wire (2 for a tap copy), taken off the reported depth.</param>
    public Classification ClassifyOverLimit(TapEnvelope envelope, StanzaOverLimit over, int levelsAbove)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(over);
        var s = envelope.Stanza;
        var from = JidText.Normalize((string?)s.Attribute("from") ?? "");
        var to = JidText.Normalize((string?)s.Attribute("to") ?? "");
        if (from.Length == 0)
            return Classification.Ignored("stanza over a limit without a sender");
        if (to.Length == 0)
            to = JidText.Bare(from); // a broadcast (presence): it concerns the sender's own account
        Scope? scope;
        if (s.Name.LocalName == "message" && (string?)s.Attribute("type") == "groupchat")
        {
            var outgoing = isLogged(JidText.Bare(from));
            var room = outgoing ? JidText.Bare(to) : JidText.Bare(from);
            scope = outgoing || isLogged(JidText.Bare(to))
                ? new Scope(ConversationType.GroupChat, room, outgoing ? Direction.Outgoing : Direction.Incoming,
                    [outgoing ? JidText.Bare(from) : JidText.Bare(to)], outgoing ? JidText.Bare(from) : null, outgoing ? _rooms.NickOf(room, JidText.Bare(from)) : JidText.Resource(from))
                : null;
        }
        else
        {
            scope = OneToOne(from, to);
        }
        if (scope == null)
            return Classification.Ignored("stanza over a limit between users who are not logged");
        return Classification.Of(Event(envelope, EventKind.OverLimit, scope, from, to) with
        {
            Text = OverLimitText(s),
            Reason = DescribeOverLimit(s, over, levelsAbove),
        }, "stanza over a per-stanza limit: recorded, not classified");
    }

    /// <summary>"chat message of 312,480 bytes, nested 3 levels deep: over the limit of 65,536 bytes (max-stanza-bytes);
    /// not archived in full": what the stanza was, for the archive and the log (no client text).</summary>
    public static string DescribeOverLimit(XElement stanza, StanzaOverLimit over, int levelsAbove)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        ArgumentNullException.ThrowIfNull(over);
        var type = (string?)stanza.Attribute("type");
        var kind = type is { Length: > 0 and <= 20 } && type.All(char.IsAsciiLetterLower) ? $"{type} {stanza.Name.LocalName}" : stanza.Name.LocalName;
        var limits = new List<string>();
        if (over.TooLarge)
            limits.Add($"{N(over.MaxBytes)} bytes (max-stanza-bytes)");
        if (over.TooDeep)
            limits.Add($"{N(over.MaxDepth)} levels");
        return $"{kind} of {N(over.Bytes)} bytes{(levelsAbove > 2 ? " (its verdict request)" : "")}, nested {N(Math.Max(1, over.Depth - levelsAbove))} levels deep: " +
               $"over the limit{(limits.Count > 1 ? "s" : "")} of {string.Join(" and ", limits)}; not archived in full";
    }

    /// <summary>The first kilobyte of the stanza's text, in document order (the reader's cut marks hold the beginning of
    /// what was skipped at each cut).</summary>
    public static string OverLimitText(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        var sb = new StringBuilder();
        foreach (var text in stanza.DescendantNodes().OfType<XText>())
        {
            if (string.IsNullOrWhiteSpace(text.Value)) continue;
            if (sb.Length > 0) sb.Append(' ');
            var room = OverLimitTextChars - sb.Length;
            // Never half a surrogate pair: the text is written out as XML and mail later.
            var take = text.Value.Length <= room ? text.Value.Length : room > 0 && char.IsHighSurrogate(text.Value[room - 1]) ? room - 1 : room;
            sb.Append(text.Value.AsSpan(0, take));
            if (sb.Length >= OverLimitTextChars) break;
        }
        return sb.ToString();
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}

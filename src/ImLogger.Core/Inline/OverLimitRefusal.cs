using System.Globalization;
using ImLogger.Domain;
using ImLogger.Xmpp;

namespace ImLogger.Inline;

/// <summary>
/// The verdict on a held stanza over a per-stanza limit (too large or too deeply nested to be archived): refused, by
/// itself, with a text the sender's client shows and a notice for the logged user. The texts name only JIDs the server
/// vouched for and numbers, never text a client chose.
/// </summary>
public static class OverLimitRefusal
{
    /// <summary>The rule, in the log and the archive.</summary>
    public const RefusalRule Rule = RefusalRule.OverLimit;

    /// <summary>The verdict for <paramref name="item"/>.</summary>
    public static InlineVerdict For(InlineItem item, StanzaOverLimit over)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(over);
        var kind = item.Stanza.Name.LocalName;
        var why = Why(over);
        var from = Bare((string?)item.Stanza.Attribute("from") ?? item.User);
        var to = Bare((string?)item.Stanza.Attribute("to") ?? "");
        return item.Direction == InlineDirection.Out
            ? InlineVerdict.Deny(Rule, "policy-violation",
                $"This {kind} is {why} to be archived, so it was not delivered: your conversations are logged for compliance. Send it in smaller, simpler parts.",
                $"Your {kind}{(to.Length > 0 ? " to " + to : "")} was not delivered: it was {why} to be archived.", type: "modify")
            : InlineVerdict.Deny(Rule, "policy-violation",
                $"{item.User} is logged for compliance, and this {kind} is {why} to be archived, so it was not delivered. Send it in smaller, simpler parts.",
                $"A {kind} from {from} to you was not delivered: it was {why} to be archived.", type: "modify");
    }

    /// <summary>For an item whose stanza the reader could not see at all (the cut came before it).</summary>
    public static InlineVerdict Unreadable(StanzaOverLimit over)
    {
        ArgumentNullException.ThrowIfNull(over);
        return InlineVerdict.Deny(Rule, "policy-violation", $"This stanza is {Why(over)} to be archived, so it was not delivered.", type: "modify");
    }

    private static string Why(StanzaOverLimit over) =>
        over.TooLarge
            ? $"too large (the limit is {over.MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes)"
            : $"too deeply nested (the limit is {over.MaxDepth} levels)";

    private static string Bare(string jid) => (jid.IndexOf('/') is var i and >= 0 ? jid[..i] : jid).ToLowerInvariant();
}

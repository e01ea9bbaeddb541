using ImLogger.Domain;
using LiteDB;

namespace ImLogger.Spool;

/// <summary>A refusal's rule in an event document: its own field, holding the rule's stable name
/// (<see cref="RefusalRules.Name"/>), so that renaming a C# member never changes what is stored.</summary>
internal static partial class SpoolDocuments
{
    /// <summary>The rule field holds a stable name this version knows, or nothing.</summary>
    private static readonly FieldRule RuleName = v =>
        v.IsNull ? null
        : !v.IsString ? $"is {Describe(v)}, not the name of a refusal rule"
        : RefusalRules.TryParse(v.AsString, out _) ? null
        : $"is '{Shown(v.AsString)}': this version knows no such refusal rule";

    /// <summary>Completes an event read back with its rule. Spools written before the rule had its own field hold refusals
    /// whose reason is "rule: explanation": the rule is split off it, so they read (and render) as refusals written today.</summary>
    private static ConversationEvent WithRule(BsonDocument doc, ConversationEvent e)
    {
        if (Get(doc, E_Rule) is { IsString: true } stored && RefusalRules.TryParse(stored.AsString, out var rule))
            return e with { Rule = rule };
        if (e.Kind != EventKind.Refused) return e;
        var (earlier, explanation) = RefusalRules.FromEarlierReason(e.Reason);
        return e with { Rule = earlier, Reason = explanation };
    }
}

namespace ImLogger.Domain;

/// <summary>
/// The rule that refused a stanza (inline mode) or a sign-in: what <see cref="ConversationEvent.Rule"/> of an
/// <see cref="EventKind.Refused"/> event holds, the spool stores, <c>imlogger report</c> counts by and the
/// <c>imlogger_refusals_total</c> metric labels with. Each rule has a stable name (<see cref="RefusalRules.Name"/>):
/// operators, dashboards and archived transcripts see that name, never the C# identifier, so renaming a member changes
/// nothing they see. Adding a rule fails the build until it has its name (switch expressions without a discard arm).
/// </summary>
public enum RefusalRule
{
    /// <summary>"end-to-end-encryption": OMEMO, OpenPGP, OTR or their keys in a logged user's stanza, sent or received.</summary>
    EndToEndEncryption,

    /// <summary>"encrypted-group-chat": a logged user's join to a room listed or learned as end-to-end encrypted.</summary>
    EncryptedGroupChat,

    /// <summary>"federated-group-chat": a logged user's join to a group chat hosted by a domain the server does not serve.</summary>
    FederatedGroupChat,

    /// <summary>"unapproved-client": a logged user's session runs a client the organization has not approved (or one not
    /// identified yet), at sign-in or per stanza.</summary>
    UnapprovedClient,

    /// <summary>"over-limit": a held stanza too large or too deeply nested to be archived.</summary>
    OverLimit,

    /// <summary>"encryption-disabled": the server adapter refused a key publish or fetch (encryption is disabled for
    /// logged users); ImLogger records the attempt.</summary>
    EncryptionDisabled,

    /// <summary>"server-restriction": the server adapter refused the stanza for a restriction of its own.</summary>
    ServerRestriction,

    /// <summary>"malformed": ImLogger could not read the held stanza.</summary>
    Malformed,

    /// <summary>"server-timeout": archived as delivered, then reported refused by the server because ImLogger's verdict
    /// came too late (fail-closed).</summary>
    ServerTimeout,

    /// <summary>"unknown": a refusal an earlier version recorded without a rule this version can read.</summary>
    Unknown,
}

/// <summary>The stable names of <see cref="RefusalRule"/>s.</summary>
public static class RefusalRules
{
    /// <summary>Every rule, in declaration order.</summary>
    public static IReadOnlyList<RefusalRule> All { get; } = Enum.GetValues<RefusalRule>();

    /// <summary>The rule's stable name, as operators see it ("end-to-end-encryption").</summary>
    public static string Name(this RefusalRule rule) => rule switch
    {
        RefusalRule.EndToEndEncryption => "end-to-end-encryption",
        RefusalRule.EncryptedGroupChat => "encrypted-group-chat",
        RefusalRule.FederatedGroupChat => "federated-group-chat",
        RefusalRule.UnapprovedClient => "unapproved-client",
        RefusalRule.OverLimit => "over-limit",
        RefusalRule.EncryptionDisabled => "encryption-disabled",
        RefusalRule.ServerRestriction => "server-restriction",
        RefusalRule.Malformed => "malformed",
        RefusalRule.ServerTimeout => "server-timeout",
        RefusalRule.Unknown => "unknown",
    };

    /// <summary>The rule with this stable name (exactly as <see cref="Name"/> writes it); false for any other text.</summary>
    public static bool TryParse(string? name, out RefusalRule rule)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Name(), name, StringComparison.Ordinal))
            {
                rule = candidate;
                return true;
            }
        }
        rule = RefusalRule.Unknown;
        return false;
    }

    /// <summary>
    /// Splits a refusal's reason as versions before the rule had its own field wrote it, "rule: explanation", into the
    /// rule and the explanation. A reason whose prefix names no known rule is kept whole, with <see cref="RefusalRule.Unknown"/>.
    /// </summary>
    public static (RefusalRule Rule, string? Explanation) FromEarlierReason(string? reason)
    {
        if (string.IsNullOrEmpty(reason)) return (RefusalRule.Unknown, reason);
        var colon = reason.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && TryParse(reason[..colon].Trim(), out var rule))
            return (rule, reason[(colon + 1)..].TrimStart(' '));
        return (RefusalRule.Unknown, reason);
    }

    /// <summary>How transcripts show a refusal's reason: "rule: explanation" (the form archives have always had); an
    /// earlier version's reason whose rule could not be read (<see cref="RefusalRule.Unknown"/>) shows as it was written.</summary>
    public static string Describe(RefusalRule? rule, string? explanation) =>
        rule is not { } r || r == RefusalRule.Unknown ? explanation ?? "" : $"{r.Name()}: {explanation}";
}

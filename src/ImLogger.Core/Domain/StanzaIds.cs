namespace ImLogger.Domain;

/// <summary>The id prefixes of the stanzas ImLogger sends of its own accord, so that whoever sends or reports them
/// recognises them by a shared constant rather than a copied string.</summary>
public static class StanzaIds
{
    /// <summary>An archive notice to a user ("this conversation is logged").</summary>
    public const string NoticePrefix = "imlogger-notice-";

    /// <summary>A refusal notice to a logged user whose held stanza was refused.</summary>
    public const string RefusalPrefix = "imlogger-refusal-";

    /// <summary>A new id with <paramref name="prefix"/>.</summary>
    public static string New(string prefix) => prefix + Guid.NewGuid().ToString("N");
}

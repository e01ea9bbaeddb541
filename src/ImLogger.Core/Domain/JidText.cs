namespace ImLogger.Domain;

/// <summary>String helpers for JIDs as they appear in attributes (the copy's JIDs are already prepped by the server).</summary>
internal static class JidText
{
    /// <summary>local@domain, lower-cased; the resource (case-sensitive) is dropped.</summary>
    public static string Bare(string jid)
    {
        var slash = jid.IndexOf('/');
        return (slash < 0 ? jid : jid[..slash]).ToLowerInvariant();
    }

    /// <summary>The resource part, or null.</summary>
    public static string? Resource(string jid)
    {
        var slash = jid.IndexOf('/');
        return slash < 0 ? null : jid[(slash + 1)..];
    }

    /// <summary>Bare part lower-cased, resource kept as is.</summary>
    public static string Normalize(string jid)
    {
        var slash = jid.IndexOf('/');
        return slash < 0 ? jid.ToLowerInvariant() : jid[..slash].ToLowerInvariant() + jid[slash..];
    }

    /// <summary>Whether <paramref name="jid"/> is local@domain as a server prepped it (RFC 7622: no spaces, no resource, no
    /// quote, markup or control characters): a real JID the server reported, fit to stand beside a nickname.</summary>
    public static bool IsPlainBareJid(string jid) =>
        jid.Length is > 2 and <= 2047 && jid.IndexOf('@') is var at and > 0 && at < jid.Length - 1 && jid.IndexOf('@', at + 1) < 0
        && !jid.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '\'' or '<' or '>' or '&' or '/');

    /// <summary>A one-to-one conversation's key: the two parties, sorted, space-separated.</summary>
    public static string PairKey(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? $"{a} {b}" : $"{b} {a}";

    /// <summary>The parties of a one-to-one conversation key (the inverse of <see cref="PairKey"/>).</summary>
    public static string[] Parties(string pairKey) => pairKey.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace ImLogger.Xmpp;

/// <summary>
/// An XMPP address <c>local@domain/resource</c> (RFC 7622). The local part and domain are lowercased with
/// <see cref="string.ToLowerInvariant()"/>; full PRECIS/stringprep preparation is out of scope, so addresses that
/// differ only in Unicode normalisation or width compare unequal.
/// </summary>
public readonly record struct Jid
{
    private const int MaxPartBytes = 1023; // RFC 7622 sections 3.2-3.4

    private readonly string? _domain;

    private Jid(string? local, string domain, string? resource)
    {
        Local = local;
        _domain = domain;
        Resource = resource;
    }

    /// <summary>The local part (before <c>@</c>), or null.</summary>
    public string? Local { get; }

    /// <summary>The domain part; never empty for a parsed JID.</summary>
    public string Domain => _domain ?? "";

    /// <summary>The resource part (after <c>/</c>), case preserved, or null.</summary>
    public string? Resource { get; }

    /// <summary>This JID without its resource.</summary>
    public Jid Bare => new(Local, Domain, null);

    /// <summary>True when there is no resource.</summary>
    public bool IsBare => Resource is null;

    /// <summary>Parses a JID or throws <see cref="FormatException"/>.</summary>
    public static Jid Parse(string text)
        => TryParse(text, out var jid, out var error) ? jid : throw new FormatException($"'{text}' is not a valid JID: {error}.");

    /// <summary>Parses a JID; returns false when it is invalid.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Jid jid) => TryParse(text, out jid, out _);

    private static bool TryParse(string? text, out Jid jid, out string error)
    {
        jid = default;
        if (string.IsNullOrEmpty(text)) { error = "it is empty"; return false; }

        // The resource may contain '@' and '/', so split it off first (RFC 7622 section 3.1).
        string? resource = null;
        var bare = text;
        var slash = text.IndexOf('/');
        if (slash >= 0)
        {
            resource = text[(slash + 1)..];
            bare = text[..slash];
            if (resource.Length == 0) { error = "the resource after '/' is empty"; return false; }
        }

        string? local = null;
        var domain = bare;
        var at = bare.IndexOf('@');
        if (at >= 0)
        {
            local = bare[..at];
            domain = bare[(at + 1)..];
            if (local.Length == 0) { error = "the local part before '@' is empty"; return false; }
            if (domain.Contains('@')) { error = "the domain contains '@'"; return false; }
        }

        // A trailing dot denotes the same (fully qualified) domain and must be stripped (RFC 7622 section 3.2).
        if (domain.EndsWith('.'))
            domain = domain[..^1];
        if (domain.Length == 0) { error = "the domain is empty"; return false; }

        if (!FitsLimit(local) || !FitsLimit(domain) || !FitsLimit(resource))
        {
            error = $"a part is longer than {MaxPartBytes} bytes";
            return false;
        }

        jid = new Jid(local?.ToLowerInvariant(), domain.ToLowerInvariant(), resource);
        error = "";
        return true;
    }

    private static bool FitsLimit(string? part) => part is null || Encoding.UTF8.GetByteCount(part) <= MaxPartBytes;

    /// <summary>Formats as <c>local@domain/resource</c>.</summary>
    public override string ToString()
    {
        var s = Local is null ? Domain : $"{Local}@{Domain}";
        return Resource is null ? s : $"{s}/{Resource}";
    }
}

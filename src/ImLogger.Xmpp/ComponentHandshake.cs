using System.Security.Cryptography;
using System.Text;

namespace ImLogger.Xmpp;

/// <summary>The XEP-0114 handshake digest.</summary>
public static class ComponentHandshake
{
    /// <summary>
    /// Returns the lowercase hex SHA-1 of <paramref name="streamId"/> followed by <paramref name="secret"/> (UTF-8),
    /// the content of the <c>&lt;handshake/&gt;</c> element that XEP-0114 section 3 prescribes.
    /// </summary>
    public static string ComputeDigest(string streamId, string secret)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(secret);
        // SHA-1 is what XEP-0114 mandates; it is a protocol requirement, not our choice of hash.
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(streamId + secret));
        return Convert.ToHexStringLower(hash);
    }
}

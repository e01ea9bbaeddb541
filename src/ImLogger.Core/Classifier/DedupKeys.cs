using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using ImLogger.Conversations;

namespace ImLogger.Classifier;

/// <summary>
/// The deduplicator's keys: SHA-256 over an event's identifying fields, each written with its length (so no two lists of
/// fields write the same bytes), cut to 16 bytes. A cryptographic hash, not a faster one: a key that collides drops a
/// message as a repeat, so a sender must not be able to make one on purpose (2^64 work for a 128-bit cut, for a
/// collision of two messages that both pass through within one window). Allocation-free: fields are encoded into a
/// pooled buffer.
/// </summary>
internal static class DedupKeys
{
    /// <summary>Size of <see cref="Content"/>'s digest.</summary>
    public const int ContentBytes = 32;

    /// <summary>The digest of what an event says (text, HTML, the message it refers to, session, file, link, room, reason).</summary>
    public static void Content(ConversationEvent e, Span<byte> digest)
    {
        var fields = new Fields(8, e.Text, e.Html, e.RelatedId, e.SessionId, e.FileName, e.Url, e.Room, e.Reason);
        Hash(fields, default, digest);
    }

    /// <summary>The key of a copy: kind, conversation, sender (null in a room), which id and the id, and the content's digest.</summary>
    public static UInt128 Of(EventKind kind, string conversationKey, string? sender, char idKind, string? id, ReadOnlySpan<byte> content)
    {
        Span<byte> head = stackalloc byte[6];
        BinaryPrimitives.WriteInt32LittleEndian(head, (int)kind);
        BinaryPrimitives.WriteUInt16LittleEndian(head[4..], idKind);
        return Cut(new Fields(3, conversationKey, sender, id), head, content);
    }

    /// <summary>The key of an invitation: kind, conversation, room, inviter, invitee and reason.</summary>
    public static UInt128 Of(EventKind kind, string conversationKey, string? room, string? inviter, string? invitee, string? reason)
    {
        Span<byte> head = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(head, (int)kind);
        return Cut(new Fields(5, conversationKey, room, inviter, invitee, reason), head, default);
    }

    private static UInt128 Cut(Fields fields, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        Span<byte> digest = stackalloc byte[32];
        Hash(fields, head, digest, tail);
        return BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }

    private static void Hash(Fields fields, ReadOnlySpan<byte> head, Span<byte> digest, ReadOnlySpan<byte> tail = default)
    {
        var size = head.Length + tail.Length;
        for (var i = 0; i < fields.Count; i++) size += 4 + Encoding.UTF8.GetMaxByteCount(fields[i]?.Length ?? 0);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            head.CopyTo(buffer);
            var at = head.Length;
            for (var i = 0; i < fields.Count; i++)
            {
                // Null and empty write the same: a copy that lacks a field says what one with it empty says.
                var written = Encoding.UTF8.GetBytes(fields[i] ?? "", buffer.AsSpan(at + 4));
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at), written);
                at += 4 + written;
            }
            tail.CopyTo(buffer.AsSpan(at));
            SHA256.HashData(buffer.AsSpan(0, at + tail.Length), digest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Up to eight fields, without an array per call.</summary>
    private readonly struct Fields(int count, string? a, string? b, string? c, string? d = null, string? e = null, string? f = null, string? g = null, string? h = null)
    {
        public int Count => count;

        public string? this[int index] => index switch { 0 => a, 1 => b, 2 => c, 3 => d, 4 => e, 5 => f, 6 => g, _ => h };
    }
}

using System.Security.Cryptography;
using System.Text;

namespace ImLogger.Spool;

/// <summary>
/// Authenticated encryption of the spool's records: AES-256-GCM, a fresh random 96-bit nonce per encryption, stored as
/// nonce || ciphertext || tag. The record's id is the associated data, so a record moved to another id, swapped with
/// another, or altered in any bit fails to decrypt instead of being read as someone else's conversation.
/// </summary>
/// <remarks>The AES key is derived from the key file's text with HKDF-SHA256 (the file is meant to hold random bytes,
/// e.g. <c>openssl rand -base64 32</c>; the loader insists on 16 characters at least). The key stays in this object only.</remarks>
public sealed class SpoolCipher : IDisposable
{
    /// <summary>The scheme, as the spool records it: a spool written with another scheme is not read with this one.</summary>
    public const string Scheme = "aes-256-gcm/hkdf-sha256/1";

    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] Info = Encoding.ASCII.GetBytes("imlogger spool record key v1");

    private readonly AesGcm _aes;

    /// <summary>Derives the key from the key file's text.</summary>
    /// <param name="keyText">The key file's text (trimmed); at least 16 characters.</param>
    /// <exception cref="ArgumentException">The text is shorter than 16 characters.</exception>
    public SpoolCipher(string keyText)
    {
        ArgumentNullException.ThrowIfNull(keyText);
        if (keyText.Length < 16) throw new ArgumentException("The spool key must have at least 16 characters.", nameof(keyText));
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(keyText), 32, salt: null, info: Info);
        _aes = new AesGcm(key, TagBytes);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary>Encrypts <paramref name="plaintext"/> for the record <paramref name="recordId"/>.</summary>
    /// <returns>nonce (12 bytes) || ciphertext || tag (16 bytes).</returns>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string recordId)
    {
        ArgumentNullException.ThrowIfNull(recordId);
        var sealedRecord = new byte[NonceBytes + plaintext.Length + TagBytes];
        var nonce = sealedRecord.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plaintext, sealedRecord.AsSpan(NonceBytes, plaintext.Length), sealedRecord.AsSpan(NonceBytes + plaintext.Length), AssociatedData(recordId));
        return sealedRecord;
    }

    /// <summary>Decrypts what <see cref="Seal"/> made for the same <paramref name="recordId"/>.</summary>
    /// <exception cref="SpoolRecordException">The record was altered, belongs to another id, or was sealed with another key.</exception>
    public byte[] Open(byte[] sealedRecord, string recordId)
    {
        ArgumentNullException.ThrowIfNull(sealedRecord);
        ArgumentNullException.ThrowIfNull(recordId);
        if (sealedRecord.Length < NonceBytes + TagBytes)
            throw new SpoolRecordException(recordId, $"it is {sealedRecord.Length} bytes long, shorter than a nonce and a tag");
        var length = sealedRecord.Length - NonceBytes - TagBytes;
        var plaintext = new byte[length];
        try
        {
            _aes.Decrypt(sealedRecord.AsSpan(0, NonceBytes), sealedRecord.AsSpan(NonceBytes, length), sealedRecord.AsSpan(NonceBytes + length), plaintext, AssociatedData(recordId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SpoolRecordException(recordId, "it fails authentication: it was altered, moved from another record, or encrypted with another key");
        }
        return plaintext;
    }

    private static byte[] AssociatedData(string recordId) => Encoding.UTF8.GetBytes("imlogger spool/1\0" + recordId);

    /// <inheritdoc />
    public void Dispose() => _aes.Dispose();
}

namespace ImLogger.Endpoints;

/// <summary>A secret (SMTP password) read from a file or an environment variable. Its text never appears in
/// <see cref="ToString"/>, so logging a config record cannot leak it.</summary>
/// <remarks>Equal when read from the same place with the same text (a reload notices a changed password file). The text is
/// compared in constant time and never enters <see cref="GetHashCode"/>.</remarks>
public sealed class SecretText : IEquatable<SecretText>
{
    private readonly string? _value;

    /// <summary>Wraps a secret.</summary>
    /// <param name="value">The secret.</param>
    /// <param name="source">Where it came from ("file /etc/imlogger/smtp.password"), for messages.</param>
    public SecretText(string value, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        ArgumentException.ThrowIfNullOrEmpty(source);
        _value = value;
        Source = source;
    }

    private SecretText(string source)
    {
        Source = source;
    }

    /// <summary>A secret that was not read (<c>ConfigLoader.LoadWithoutSecrets</c>, for commands that must not need them): where it would come from,
    /// for messages; <see cref="Reveal"/> throws.</summary>
    /// <param name="source">Where it would be read from.</param>
    public static SecretText Unread(string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return new SecretText(source);
    }

    /// <summary>Where the secret was read from.</summary>
    public string Source { get; }

    /// <summary>Whether the secret was read (false for a config loaded without secrets).</summary>
    public bool IsRead => _value != null;

    /// <summary>The secret itself: pass it to the authenticating code, never to a log.</summary>
    /// <exception cref="InvalidOperationException">The config was loaded without secrets.</exception>
    public string Reveal() => _value ?? throw new InvalidOperationException(
        $"the secret from {Source} was not read: this command loads the config without secrets");

    /// <inheritdoc />
    public override string ToString() => $"(secret from {Source})";

    /// <inheritdoc />
    public bool Equals(SecretText? other) =>
        other is not null && string.Equals(Source, other.Source, StringComparison.Ordinal) &&
        // An unread secret (a config loaded without secrets) equals only another unread one from the same source.
        (_value is null || other._value is null
            ? _value is null && other._value is null
            : System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(_value), System.Text.Encoding.UTF8.GetBytes(other._value)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SecretText);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Source);
}

namespace ImLogger.Endpoints;

/// <summary>A named archive endpoint's settings, as read from its config element by its <see cref="Endpoints.EndpointType"/>.</summary>
/// <remarks>A reload compares the running and the new settings by value (<see cref="object.Equals(object)"/>) and rebuilds the
/// endpoint's sink exactly when they differ, naming the properties that differ. A record compares its properties by value
/// except collections (by reference): a type with a list setting writes out its own <c>Equals</c> and <c>GetHashCode</c>.
/// Settings are immutable (<c>init</c>) and never print a secret (keep secrets in <see cref="SecretText"/>).</remarks>
public abstract record EndpointConfig
{
    /// <summary>Unique name, no spaces.</summary>
    public required string Name { get; init; }

    /// <summary>Attempts (the first included) before a delivery to this endpoint becomes a dead letter; null for the dispatcher's default.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>The config element name of the endpoint's type (<c>directory</c>, <c>secure-smtp</c>, ...).</summary>
    public abstract string TypeName { get; }
}

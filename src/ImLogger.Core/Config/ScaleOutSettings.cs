namespace ImLogger.Config;

/// <summary>
/// <c>&lt;scale-out components="archive1.example.test archive2.example.test"/&gt;</c>: several ImLogger instances share
/// one server, each connected as its own component; the server's module picks the instance of each conversation by a
/// stable hash of its key (docs/scale-out.md). Every instance's config lists the same components in the same order
/// (the order is the hash's bucket order); this instance's own <c>&lt;component jid&gt;</c> is one of them.
/// </summary>
public sealed record ScaleOutSettings
{
    /// <summary>The instances' component JIDs, in bucket order (2 to 64).</summary>
    public required IReadOnlyList<string> Components { get; init; }

    /// <summary>Equal lists in the same order: a change moves conversations between instances (a restart of every one).</summary>
    public bool Equals(ScaleOutSettings? other) => other is not null && Components.SequenceEqual(other.Components, StringComparer.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => Components.Count;
}

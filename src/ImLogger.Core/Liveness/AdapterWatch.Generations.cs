using ImLogger.Config;

namespace ImLogger.Liveness;

/// <summary>Whether the config in force is also in force on the server side, for a reload's log line.</summary>
/// <param name="InForce">Every domain's server side last said it runs <paramref name="Expected"/>.</param>
/// <param name="Expected">The generation of the config in force.</param>
/// <param name="ServerHas">The generation(s) the server side last reported, "nothing yet" when it has not spoken.</param>
public sealed record ServerSideState(bool InForce, string Expected, string ServerHas)
{
    /// <summary>The words for logs and <c>report</c>: "in force on the server side (generation X)" or
    /// "configured, waiting for the server side (generation X, server has Y)".</summary>
    public override string ToString() => InForce
        ? $"in force on the server side (generation {Expected})"
        : $"configured, waiting for the server side (generation {Expected}, server has {ServerHas})";
}

public sealed partial class AdapterWatch
{
    /// <summary>Who the rules of a generation hold or copy: enough to name, for a stale server side, the users it misses.</summary>
    private sealed record Covered(IReadOnlySet<string> Listed, IReadOnlyList<OrganizationConfig> Organizations)
    {
        public bool Logs(string jid) =>
            Listed.Contains(jid) || Organizations.Any(o => o.LoggedByDefault && o.Owns(jid) && !o.Exclusions.Contains(jid));
    }

    /// <summary>A reload at a time changes little, and old generations only name users: a few are enough.</summary>
    private const int RememberedGenerations = 16;

    private readonly Dictionary<string, Covered> _generations = new(StringComparer.Ordinal);
    private readonly Queue<string> _generationOrder = new();

    /// <summary>The config in force as seen from the server side: in force, or waiting for it (and what it runs).</summary>
    public ServerSideState State()
    {
        lock (_lock)
        {
            var expected = Expected(time.GetTimestamp());
            var domains = config().Organizations.SelectMany(o => o.Domains).ToList();
            var has = domains.Select(d => _heard.TryGetValue(d, out var h) ? GenerationText(h.Generation) : null).ToList();
            var inForce = _connectedAt != null && domains.All(d => _heard.TryGetValue(d, out var h) && h.CurrentAt != null);
            var known = has.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            return new ServerSideState(inForce, expected, known.Count == 0 ? "nothing yet" : string.Join(", ", known));
        }
    }

    /// <summary>For <c>report</c>: null when <paramref name="jid"/> is held (or copied) by the rules its domain's server side
    /// runs now; otherwise why its logging is not in force yet.</summary>
    /// <param name="jid">A logged user's bare JID.</param>
    public string? NotInForce(string jid)
    {
        ArgumentNullException.ThrowIfNull(jid);
        lock (_lock)
        {
            var expected = Expected(time.GetTimestamp());
            var domain = jid[(jid.IndexOf('@', StringComparison.Ordinal) + 1)..];
            if (_connectedAt == null) return "NOT IN FORCE: ImLogger is not connected to the XMPP server";
            if (!_heard.TryGetValue(domain, out var heard)) return $"configured, waiting for the server side (generation {expected}, server has nothing yet)";
            if (heard.CurrentAt != null) return null;
            if (_generations.TryGetValue(heard.Generation, out var old) && old.Logs(jid)) return null;
            return $"configured, waiting for the server side (generation {expected}, server has {GenerationText(heard.Generation)})";
        }
    }

    /// <summary>Keeps who a generation covers (under the lock, or from the constructor).</summary>
    private void Remember(string generation, ImLoggerConfig cfg)
    {
        if (_generations.ContainsKey(generation)) return;
        _generations[generation] = new Covered(cfg.Organizations.SelectMany(o => o.Users).Select(u => u.Jid).ToHashSet(StringComparer.Ordinal), cfg.Organizations);
        _generationOrder.Enqueue(generation);
        while (_generationOrder.Count > RememberedGenerations) _generations.Remove(_generationOrder.Dequeue());
    }

    /// <summary>", not held there: carol@…; still held there: dave@…" between the rules the server runs and those expected, when both are known.</summary>
    private string Difference(string serverGeneration, string expected)
    {
        if (!_generations.TryGetValue(serverGeneration, out var server) || !_generations.TryGetValue(expected, out var wanted)) return "";
        var missing = wanted.Listed.Where(j => !server.Logs(j)).Order(StringComparer.Ordinal).ToList();
        var extra = server.Listed.Where(j => !wanted.Logs(j)).Order(StringComparer.Ordinal).ToList();
        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"not held there yet: {Few(missing)}");
        if (extra.Count > 0) parts.Add($"still held there: {Few(extra)}");
        return parts.Count == 0 ? "" : "; " + string.Join("; ", parts);
    }

    private static string Few(List<string> jids) => jids.Count <= 20 ? string.Join(", ", jids) : $"{string.Join(", ", jids.Take(20))} and {jids.Count - 20} more";

    private static string GenerationText(string generation) => generation.Length == 0 ? "none" : generation;
}

using System.Collections;
using System.Reflection;

namespace ImLogger.Config;

/// <summary>One endpoint that differs between the running config and a reloaded one.</summary>
/// <param name="Name">The endpoint's name.</param>
/// <param name="Settings">The settings that changed, by their config names ("subject", "timeout"); for an added or removed
/// endpoint, or a changed type, what happened ("added", "removed", "type secure-smtp → directory").</param>
/// <param name="Restart">Why the change needs a restart; null when a reload applies it (the endpoint's sink is rebuilt).</param>
public sealed record EndpointChange(string Name, IReadOnlyList<string> Settings, string? Restart)
{
    /// <summary>"endpoint 'mail' (subject, timeout)", for the log.</summary>
    public override string ToString() => $"endpoint '{Name}' ({string.Join(", ", Settings)})";
}

/// <summary>
/// Which endpoints a reload changes, compared by value (<see cref="EndpointConfig"/> records, every setting), and whether
/// each change can be applied live.
/// </summary>
/// <remarks>
/// Live: every setting of an existing endpoint except the ones below, because the dispatcher asks the endpoint's
/// LiveSink (ImLogger.Sinks) for its current sink at each delivery. Restart: an endpoint added or removed (a rename is
/// both) or given another type, since the dispatcher runs one delivery loop per endpoint fixed at start; and
/// <c>max-attempts</c>, which the dispatcher reads at start.
/// </remarks>
public static class EndpointChanges
{
    /// <summary>Config names of settings whose property name does not say it in kebab case.</summary>
    private static readonly Dictionary<string, string> ConfigNames = new(StringComparer.Ordinal)
    {
        ["SubjectTemplate"] = "subject",
        ["MaxMessageBytes"] = "max-message-size",
        ["AddressTemplate"] = "address",
        ["Password"] = "password",
        ["Tls"] = "tls",
        ["MessageType"] = "msg-type",
    };

    /// <summary>Every endpoint that differs between <paramref name="running"/> and <paramref name="next"/>, in config order
    /// (the running ones first, then those added).</summary>
    public static IReadOnlyList<EndpointChange> Between(IReadOnlyList<EndpointConfig> running, IReadOnlyList<EndpointConfig> next)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(next);
        var after = next.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var before = running.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var changes = new List<EndpointChange>();
        foreach (var old in running)
        {
            if (!after.TryGetValue(old.Name, out var now))
            {
                changes.Add(new(old.Name, ["removed"], "the dispatcher's endpoints are fixed at start"));
                continue;
            }
            if (old.Equals(now)) continue;
            if (old.GetType() != now.GetType())
            {
                changes.Add(new(old.Name, [$"type {TypeOf(old, now)} → {TypeOf(now, old)}"], "an endpoint's type is fixed at start"));
                continue;
            }
            var settings = Differences(old, now);
            var restart = settings.Contains("max-attempts") ? "max-attempts is read at start" : null;
            changes.Add(new(old.Name, settings, restart));
        }
        changes.AddRange(next.Where(e => !before.Contains(e.Name)).Select(e => new EndpointChange(e.Name, ["added"], "the dispatcher's endpoints are fixed at start")));
        return changes;
    }

    /// <summary>The type's name, with its assembly when both sides have the same name (two plug-ins claiming one type name).</summary>
    private static string TypeOf(EndpointConfig config, EndpointConfig other) =>
        config.TypeName == other.TypeName ? $"{config.TypeName} ({config.GetType().Assembly.GetName().Name})" : config.TypeName;

    /// <summary>The config names of the settings that differ (never their values: one of them may be a password).</summary>
    private static List<string> Differences(EndpointConfig a, EndpointConfig b)
    {
        var names = new List<string>();
        foreach (var p in a.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || p.Name == nameof(EndpointConfig.TypeName)) continue;
            if (!Same(p.GetValue(a), p.GetValue(b))) names.Add(ConfigName(p.Name));
        }
        // Records unequal with no property apart would be a setting this comparison cannot see: say so rather than nothing.
        return names.Count > 0 ? names : ["settings"];
    }

    private static bool Same(object? x, object? y) =>
        x is IEnumerable xs and not string && y is IEnumerable ys and not string
            ? xs.Cast<object?>().SequenceEqual(ys.Cast<object?>())
            : Equals(x, y);

    /// <summary>"CaFile" → "ca-file".</summary>
    internal static string ConfigName(string property)
    {
        if (ConfigNames.TryGetValue(property, out var known)) return known;
        var text = new System.Text.StringBuilder();
        foreach (var c in property)
        {
            if (char.IsUpper(c) && text.Length > 0) text.Append('-');
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }
}

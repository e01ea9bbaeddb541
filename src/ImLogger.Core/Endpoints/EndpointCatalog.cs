using System.Collections.Concurrent;
using System.Reflection;
using ImLogger.Config;

namespace ImLogger.Endpoints;

/// <summary>
/// Every endpoint type ImLogger knows: the built-in ones (the <see cref="EndpointType"/> classes of this assembly) and
/// the plug-ins the config named (<see cref="Plugin"/>), each loaded once per process.
/// </summary>
/// <remarks>Built-in and plug-in types are found the same way, by their registration class, so adding a built-in type
/// is one class (plus its settings record and its element in config/imlogger.xsd): nothing else names it.</remarks>
public static class EndpointCatalog
{
    /// <summary>Where plug-ins are looked for when the config's <c>&lt;endpoints plugins="..."&gt;</c> does not say. Beside
    /// the program rather than the spool: code belongs where only root can write, not where the service itself writes.</summary>
    public const string DefaultPluginsFolder = "/usr/lib/imlogger/plugins";

    private static readonly Lazy<IReadOnlyDictionary<string, EndpointType>> BuiltInTypes = new(() =>
        Discover(typeof(EndpointCatalog).Assembly, "ImLogger").ToDictionary(t => t.TypeName, StringComparer.Ordinal));

    /// <summary>Registration by settings type: built-in ones, and those of every plug-in loaded so far.</summary>
    private static readonly ConcurrentDictionary<Type, EndpointType> BySettings = new();

    private static readonly Dictionary<string, IReadOnlyList<EndpointType>> Plugins = new(StringComparer.Ordinal);
    private static readonly Lock PluginsGate = new();

    /// <summary>The built-in types' names (their config elements), sorted.</summary>
    public static IReadOnlyList<string> BuiltInNames => BuiltInTypes.Value.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>The built-in type named <paramref name="typeName"/>, or null.</summary>
    public static EndpointType? BuiltIn(string typeName)
    {
        ArgumentNullException.ThrowIfNull(typeName);
        return BuiltInTypes.Value.GetValueOrDefault(typeName);
    }

    /// <summary>The type that read <paramref name="config"/> (built in, or from a plug-in loaded by the config).</summary>
    /// <exception cref="InvalidOperationException">Settings no registration reads (a bug, or a config built by hand from
    /// a plug-in that was never loaded).</exception>
    public static EndpointType Of(EndpointConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _ = BuiltInTypes.Value; // registers the built-in settings types
        return BySettings.TryGetValue(config.GetType(), out var type) ? type
            : throw new InvalidOperationException($"endpoint '{config.Name}' has settings of type {config.GetType().FullName}, which no loaded endpoint type reads");
    }

    /// <summary>The registration <paramref name="typeName"/> (or the only one) of plug-in <paramref name="plugin"/> in
    /// <paramref name="folder"/>, loading the plug-in on first use in its own <see cref="System.Runtime.Loader.AssemblyLoadContext"/>.</summary>
    /// <param name="folder">The plug-ins folder (absolute).</param>
    /// <param name="plugin">The plug-in's assembly name: <c>folder/plugin/plugin.dll</c> or <c>folder/plugin.dll</c>.</param>
    /// <param name="typeName">The registration's <see cref="EndpointType.TypeName"/>; null when the plug-in holds exactly one.</param>
    /// <exception cref="PluginException">Not found, not a .NET assembly, no registration or several matching, or a
    /// registration that throws when created; the message says which and what to do.</exception>
    /// <remarks>A plug-in stays loaded for the life of the process: a new build of it takes effect at a restart.</remarks>
    public static EndpointType Plugin(string folder, string plugin, string? typeName)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(plugin);
        _ = BuiltInTypes.Value;
        if (plugin.Length == 0 || plugin.Length > 128 || !plugin.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_') || plugin.StartsWith('.'))
            throw new PluginException($"plugin must be an assembly name such as Acme.ImLogger.Sink (letters, digits, '.', '-', '_'), not '{plugin}'");
        var inFolder = Path.Combine(folder, plugin, plugin + ".dll");
        var flat = Path.Combine(folder, plugin + ".dll");
        var path = File.Exists(inFolder) ? inFolder : File.Exists(flat) ? flat
            : throw new PluginException($"plugin '{plugin}' not found: neither {inFolder} nor {flat} exists; copy the plug-in's build output " +
                                        $"(its {plugin}.dll, {plugin}.deps.json and dependencies) into {Path.Combine(folder, plugin)}, or set <endpoints plugins=\"FOLDER\">");
        IReadOnlyList<EndpointType> types;
        lock (PluginsGate)
        {
            if (!Plugins.TryGetValue(path, out types!))
            {
                types = Load(path, plugin);
                Plugins[path] = types;
            }
        }
        var matching = types.Where(t => typeName is null || t.TypeName == typeName).ToList();
        return matching.Count switch
        {
            1 => matching[0],
            0 when typeName is not null => throw new PluginException(
                $"plugin '{plugin}' ({path}) has no endpoint type '{typeName}'; it has: {string.Join(", ", types.Select(t => t.TypeName))}"),
            _ => throw new PluginException(
                $"plugin '{plugin}' ({path}) has several endpoint types ({string.Join(", ", types.Select(t => t.TypeName))}); say which with type=\"...\""),
        };
    }

    private static IReadOnlyList<EndpointType> Load(string path, string plugin)
    {
        Assembly assembly;
        try
        {
            assembly = new PluginLoadContext(path).LoadFromAssemblyPath(path);
        }
        catch (BadImageFormatException)
        {
            throw new PluginException($"plugin '{plugin}': {path} is not a .NET assembly; put the plug-in's build output there ({plugin}.dll from `dotnet publish`)");
        }
        catch (Exception e) when (e is FileLoadException or IOException or UnauthorizedAccessException)
        {
            throw new PluginException($"plugin '{plugin}': {path} cannot be loaded ({e.Message}); check that the imlogger user can read it");
        }
        var types = Discover(assembly, $"plugin '{plugin}' ({path})");
        if (types.Count == 0)
            throw new PluginException($"plugin '{plugin}' ({path}) has no endpoint type: it needs a public class deriving from " +
                                      $"{typeof(EndpointType<>).FullName?.Split('`')[0]}<TConfig>, built against this ImLogger's " +
                                      $"ImLogger.Sinks.Abstractions {typeof(EndpointType).Assembly.GetName().Version}");
        return types;
    }

    /// <summary>Creates every registration of <paramref name="assembly"/> and claims its settings type.</summary>
    /// <exception cref="PluginException">Types that cannot be read, a registration that throws, a bad or repeated type
    /// name, or a settings type another registration already reads.</exception>
    internal static IReadOnlyList<EndpointType> Discover(Assembly assembly, string origin)
    {
        Type[] candidates;
        try
        {
            candidates = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            throw new PluginException($"{origin} cannot be read: {e.LoaderExceptions.FirstOrDefault(x => x != null)?.Message ?? e.Message}; " +
                                      "put its dependencies beside it (the whole build output)");
        }
        return Discover(candidates, origin);
    }

    /// <summary>As <see cref="Discover(Assembly, string)"/>, over the given types (the public registration classes among them).</summary>
    internal static IReadOnlyList<EndpointType> Discover(IEnumerable<Type> candidates, string origin)
    {
        var found = new List<EndpointType>();
        foreach (var t in candidates.Where(t => t is { IsClass: true, IsAbstract: false, IsPublic: true } && typeof(EndpointType).IsAssignableFrom(t)).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (t.GetConstructor(Type.EmptyTypes) is null)
                throw new PluginException($"{origin}: endpoint type class {t.FullName} needs a public parameterless constructor");
            EndpointType type;
            string name;
            Type settings;
            try
            {
                type = (EndpointType)Activator.CreateInstance(t)!;
                name = type.TypeName;
                settings = type.ConfigType;
            }
            catch (Exception e)
            {
                var cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
                throw new PluginException($"{origin}: endpoint type class {t.FullName} throws when created ({cause.GetType().Name}: {cause.Message})", cause);
            }
            if (string.IsNullOrEmpty(name) || name.Length > 64 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                throw new PluginException($"{origin}: endpoint type class {t.FullName} has the type name '{name}'; use lower case letters, digits and '-'");
            if (found.FirstOrDefault(f => f.TypeName == name) is { } twin)
                throw new PluginException($"{origin}: two endpoint types claim the name '{name}' ({twin.GetType().FullName} and {t.FullName}); give each its own");
            if (!typeof(EndpointConfig).IsAssignableFrom(settings) || settings.IsAbstract)
                throw new PluginException($"{origin}: endpoint type '{name}' reads settings of type {settings.FullName}, which is not a concrete EndpointConfig");
            found.Add(type);
        }
        foreach (var type in found)
        {
            var owner = BySettings.GetOrAdd(type.ConfigType, type);
            if (!ReferenceEquals(owner, type) && owner.GetType() != type.GetType())
                throw new PluginException($"{origin}: endpoint type '{type.TypeName}' reads {type.ConfigType.FullName}, which endpoint type '{owner.TypeName}' already reads");
        }
        return found;
    }
}

/// <summary>An endpoint plug-in cannot be used; the message says which, why, and what to do.</summary>
public sealed class PluginException(string message, Exception? inner = null) : Exception(message, inner);

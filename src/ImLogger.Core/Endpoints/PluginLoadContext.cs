using System.Reflection;
using System.Runtime.Loader;

namespace ImLogger.Endpoints;

/// <summary>
/// The load context of one endpoint plug-in: its own dependencies come from its folder (through its .deps.json), so two
/// plug-ins may use different versions of a library; the sink contract and what its signatures use come from the
/// host, so that the plug-in's <see cref="EndpointType"/> is the host's type.
/// </summary>
internal sealed class PluginLoadContext(string mainAssemblyPath)
    : AssemblyLoadContext($"imlogger-plugin {Path.GetFileNameWithoutExtension(mainAssemblyPath)}", isCollectible: false)
{
    /// <summary>Assemblies a plug-in must share with the host (a copy in the plug-in's folder is ignored).</summary>
    private static readonly HashSet<string> Shared = new(StringComparer.OrdinalIgnoreCase)
    {
        typeof(EndpointType).Assembly.GetName().Name!,
        typeof(Microsoft.Extensions.Logging.ILogger).Assembly.GetName().Name!,
    };

    private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name is { } name && Shared.Contains(name)) return null; // the host's copy
        return _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
    }

    /// <inheritdoc />
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
}

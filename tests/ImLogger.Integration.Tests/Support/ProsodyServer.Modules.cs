namespace ImLogger.Integration.Tests.Support;

/// <summary>Prosody modules beyond the sandbox's list, for the tests that need them (smacks: XEP-0198).</summary>
internal sealed partial class ProsodyServer
{
    private readonly List<string> _extraModules = [];

    /// <summary>Loads <paramref name="module"/> too (for example "smacks"); call before <see cref="StartAsync"/>.</summary>
    public void EnableModule(string module)
    {
        _extraModules.Add(module);
        File.WriteAllText(ConfigPath, Config());
    }

    private string WithExtraModules(string global)
    {
        if (_extraModules.Count == 0) return global;
        const string enabled = "modules_enabled = { ";
        Assert.That(global, Does.Contain(enabled), "the sandbox's global section changed: load the extra modules another way");
        return global.Replace(enabled, enabled + string.Concat(_extraModules.Select(m => $"\"{m}\", ")), StringComparison.Ordinal);
    }
}

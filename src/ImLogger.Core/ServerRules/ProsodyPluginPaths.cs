using System.Text.RegularExpressions;

namespace ImLogger.ServerRules;

/// <summary>
/// The <c>plugin_paths</c> the inline snippet must keep. Prosody 0.12's config cannot append to a list (an option read
/// in the config file is a Lua global, not the value set so far) and the last assignment wins, so the snippet, Included
/// at the end, would replace Debian's <c>plugin_paths = { "/usr/local/lib/prosody/modules" }</c>. The snippet's line
/// therefore repeats the entries prosody.cfg.lua sets, after ImLogger's folder.
/// </summary>
public static partial class ProsodyPluginPaths
{
    /// <summary>Where Debian's Prosody package keeps its config.</summary>
    public const string ProsodyConfig = "/etc/prosody/prosody.cfg.lua";

    /// <summary>What Debian's prosody.cfg.lua sets (Prosody 0.12): the local administrator's modules.</summary>
    public const string DebianDefault = "/usr/local/lib/prosody/modules";

    /// <summary>The entries to keep, and where they were read: prosody.cfg.lua when readable; else the snippet written
    /// before (by root, who can read prosody.cfg.lua, when the service that rewrites it cannot); else Debian's default.</summary>
    /// <param name="previousSnippet">The snippet about to be replaced, if any.</param>
    /// <param name="prosodyConfig">Prosody's main config file.</param>
    public static (IReadOnlyList<string> Paths, string From) ToKeep(string? previousSnippet, string prosodyConfig = ProsodyConfig)
    {
        if (Read(prosodyConfig) is { } fromConfig) return (fromConfig, prosodyConfig);
        if (previousSnippet is not null && Read(previousSnippet) is { } fromSnippet) return (fromSnippet, $"{previousSnippet} (written before; {prosodyConfig} is not readable)");
        return ([DebianDefault], $"Debian's default ({prosodyConfig} is not readable)");
    }

    /// <summary>The entries of the global <c>plugin_paths</c> in a Prosody config file: empty when it sets none, null when
    /// the file cannot be read.</summary>
    public static IReadOnlyList<string>? Read(string file)
    {
        string text;
        try { text = File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        text = LineComment().Replace(text, "");
        // Only the global section: before the first VirtualHost or Component other than VirtualHost "*".
        var host = SectionStart().Match(text);
        var global = host.Success ? text[..host.Index] : text;
        var assignment = PluginPathsAssignment().Matches(global).LastOrDefault();
        if (assignment is null) return [];
        return QuotedString().Matches(assignment.Groups[1].Value).Select(m => m.Groups[2].Value).ToList();
    }

    [GeneratedRegex(@"--[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"^\s*(VirtualHost\s*[""'](?!\*[""'])|Component\s*[""'])", RegexOptions.Multiline)]
    private static partial Regex SectionStart();

    [GeneratedRegex(@"^\s*plugin_paths\s*=\s*\{([^}]*)\}", RegexOptions.Multiline)]
    private static partial Regex PluginPathsAssignment();

    [GeneratedRegex(@"([""'])([^""']*)\1")]
    private static partial Regex QuotedString();
}

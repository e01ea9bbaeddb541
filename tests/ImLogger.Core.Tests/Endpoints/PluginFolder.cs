namespace ImLogger.Tests.Endpoints;

/// <summary>The build output of the repository's plug-in projects (built before the tests through a project reference
/// that does not reference their assembly), copied into a test's plug-ins folder as an operator would.</summary>
internal static class PluginFolder
{
    /// <summary>Copies plug-in <paramref name="project"/> (under samples/ or tests/Plugins/) into <paramref name="plugins"/>/NAME/.</summary>
    public static string Install(string plugins, string project)
    {
        var output = Output(project);
        var target = Path.Combine(plugins, project);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(output))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        return target;
    }

    /// <summary>Where <paramref name="project"/>'s build output is, for the configuration the tests were built in.</summary>
    public static string Output(string project)
    {
        var testDir = TestContext.CurrentContext.TestDirectory;
        var configuration = testDir.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var root = new DirectoryInfo(testDir);
        while (root != null && !File.Exists(Path.Combine(root.FullName, "ImLogger.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, "the repository root (ImLogger.sln) above the test folder");
        foreach (var parent in new[] { "samples", Path.Combine("tests", "Plugins") })
        {
            var dir = Path.Combine(root!.FullName, parent, project, "bin", configuration, "net10.0");
            if (File.Exists(Path.Combine(dir, project + ".dll"))) return dir;
        }
        Assert.Fail($"{project} is not built under {root!.FullName}; build ImLogger.sln");
        return "";
    }
}

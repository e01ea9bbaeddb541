using System.Text.RegularExpressions;

namespace ImLogger.Tests.Spool;

/// <summary>LiteDB stays inside the storage code (issue 15): no other source file names its types, so no caller can come to
/// depend on its exceptions; they catch <see cref="ImLogger.Domain.SpoolUnavailableException"/> and the spool's other own
/// types. The bench is exempt: it writes spool files directly as fixtures.</summary>
public sealed partial class StorageBoundaryTests
{
    [GeneratedRegex(@"^\s*using\s+LiteDB\b|\bLiteDB\.[A-Z]|\bLiteException\b", RegexOptions.Multiline)]
    private static partial Regex LiteDbType();

    private static readonly string[] Storage = ["src/ImLogger.Core/Spool/", "src/ImLogger.Bench/"];

    [Test]
    public void NoSourceOutsideTheSpoolNamesALiteDbType()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ImLogger.sln"))) root = root.Parent;
        Assert.That(root, Is.Not.Null, "the repository holding the tests");
        var src = Path.Combine(root!.FullName, "src");
        var files = Directory.GetFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .ToList();
        Assert.That(files.Any(f => f.Replace('\\', '/').Contains(Storage[0], StringComparison.Ordinal) && LiteDbType().IsMatch(File.ReadAllText(f))),
            Is.True, "the scan sees the storage code's own use of LiteDB (the pattern works)");
        var outside = files
            .Where(f => !Storage.Any(s => Path.GetRelativePath(root.FullName, f).Replace('\\', '/').StartsWith(s, StringComparison.Ordinal)))
            .Where(f => LiteDbType().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(root.FullName, f))
            .ToList();
        Assert.That(outside, Is.Empty, "catch SpoolUnavailableException (or the spool's other exceptions) instead of LiteDB's");
    }
}

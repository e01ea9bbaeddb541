namespace ImLogger.Tests;

/// <summary>Tests that write files (configs, CSVs, spools) get a fresh folder each, deleted after the test.</summary>
public abstract class TempDirFixture
{
    /// <summary>This test's folder.</summary>
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void CreateTempDir() => Dir = Directory.CreateTempSubdirectory($"imlogger-{GetType().Name}-").FullName;

    [TearDown]
    public void DeleteTempDir()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}

using ImLogger.Config;

namespace ImLogger.Tests.Hostile;

/// <summary>
/// The config loader on mutated versions of the shipped config: whatever the file holds, the operator gets a
/// <see cref="ConfigException"/> naming file, line and problem (or a valid config), never another exception type,
/// which `imlogger` would report as a crash with a stack trace.
/// </summary>
public class ConfigLoaderFuzzTests
{
    private static string ShippedConfig()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ImLogger.sln"))) return File.ReadAllText(Path.Combine(dir.FullName, "config", "imlogger.xml"));
        throw new InvalidOperationException("ImLogger.sln not found above the test directory");
    }

    [Test]
    public void MutatedConfigsOnlyEverFailWithAConfigException()
    {
        var seed = ShippedConfig();
        var dir = Directory.CreateTempSubdirectory("imlogger-config-fuzz-").FullName;
        try
        {
            var mutator = new Mutator(FuzzBudget.Seed);
            var budget = System.Diagnostics.Stopwatch.StartNew();
            int runs = 0, valid = 0;
            // A fixed budget: the count varies with the machine, the mutations (the seed) do not.
            for (; runs < FuzzBudget.MaxRuns(5000) && budget.Elapsed < FuzzBudget.Duration; runs++)
            {
                var text = mutator.MutateText(seed);
                var path = Path.Combine(dir, "imlogger.xml");
                // A replacing encoder: a surrogate pair cut in two by a mutation becomes U+FFFD, as a text editor would save it.
                File.WriteAllText(path, text, new System.Text.UTF8Encoding(false));
                try
                {
                    ConfigLoader.Load(path, _ => "secret-from-environment");
                    valid++;
                }
                catch (ConfigException)
                {
                }
                catch (Exception e)
                {
                    Assert.Fail($"seed {FuzzBudget.Seed}, run {runs}: {e.GetType().Name}: {e.Message}\n--- config ---\n{text}\n--- stack ---\n{e.StackTrace}");
                }
            }
            TestContext.Out.WriteLine($"{runs} mutated configs, {valid} still valid");
            Assert.That(runs, Is.GreaterThan(100), "the fuzz budget ran");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

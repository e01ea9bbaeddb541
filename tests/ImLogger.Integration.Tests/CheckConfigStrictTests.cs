using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary><c>check-config --strict</c>: a config that loads but warns (users over the seat limit are not logged) passes the
/// plain check, with the warning, and fails the strict one that automation runs before deploying.</summary>
[TestFixture]
public class CheckConfigStrictTests
{
    private static async Task<string> ConfigAsync(string dir, int seats)
    {
        var config = Path.Combine(dir, "imlogger.xml");
        await File.WriteAllTextAsync(config, $"""
            <imlogger>
              <component jid="archive.example.test" secret-env="IMLOGGER_COMPONENT_SECRET" />
              <attach mode="inline" timeout="10s" />
              <spool path="spool.db" />
              <transcripts idle-close="1h30m" />
              <organization domain="example.test" endpoint="a" seats="{seats}">
                <user jid="alice@example.test" />
                <user jid="bob@example.test" />
              </organization>
              <endpoints><directory name="a" path="archive" /></endpoints>
            </imlogger>
            """);
        return config;
    }

    [Test, CancelAfter(120_000)]
    public async Task WarningsFailOnlyTheStrictCheck()
    {
        var dir = Directory.CreateTempSubdirectory("imlogger-strict-").FullName;
        try
        {
            var over = await ConfigAsync(dir, seats: 1);
            var (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--config", over);
            Assert.That(code, Is.Zero, output);
            Assert.That(output, Does.Contain("over the seat limit are NOT logged: bob@example.test"));
            Assert.That(output, Does.Contain("close after 1h30m idle").And.Contain("timeout 10s"), "durations as the config writes them");

            (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--strict", "--config", over);
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("--strict: 1 warning(s)"));

            var fine = await ConfigAsync(dir, seats: 2);
            (code, output) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "check-config", "--strict", "--config", fine);
            Assert.That(code, Is.Zero, output);
            Assert.That(output, Does.Not.Contain("warning"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

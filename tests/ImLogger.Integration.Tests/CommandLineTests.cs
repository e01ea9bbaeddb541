using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The command line an operator meets: --version, help per command, mistakes that say what to run instead, and
/// the read-only commands that need no secret.</summary>
[TestFixture]
public class CommandLineTests
{
    private static async Task<(int Code, string Output)> ImLogger(params string[] args)
    {
        // No secret in the environment: what an admin's shell or a monitoring user has.
        await using var p = ImLoggerProcess.Start(args.FirstOrDefault() ?? "imlogger", new Dictionary<string, string>(), args);
        return (await p.WaitForExitAsync(TimeSpan.FromSeconds(60)), p.Output);
    }

    [Test, CancelAfter(60_000)]
    public async Task VersionPrintsTheVersion()
    {
        foreach (var word in new[] { "--version", "version" })
        {
            var (code, output) = await ImLogger(word);
            Assert.That(code, Is.Zero, output);
            Assert.That(output.Trim(), Does.Match(@"^imlogger \d+\.\d+\.\d+"), word);
        }
    }

    [TestCase("run", "--accept-new-spool")]
    [TestCase("server-config", "--out DIR")]
    [TestCase("check-config", "exit codes: 0 valid")]
    [TestCase("report", "--since")]
    [TestCase("check-server", "2 `imlogger run` is not running")]
    [TestCase("reload", "--confirm")]
    [TestCase("test-endpoint", "--send-probe")]
    [TestCase("spool", "spool salvage --to NEWFILE")]
    [TestCase("spool retry", "its waiting deliveries are")]
    [TestCase("spool show", "usage: imlogger spool show ID")]
    [TestCase("spool salvage", "--to NEWFILE")]
    [CancelAfter(60_000)]
    public async Task EveryCommandHasItsOwnHelp(string command, string expected)
    {
        var words = command.Split(' ');
        foreach (var args in new string[][] { [.. words, "--help"], [.. words, "-h"], ["help", .. words], [.. words, "--config", "/nonexistent.xml", "--help"] })
        {
            var (code, output) = await ImLogger(args);
            Assert.That(code, Is.Zero, $"{string.Join(' ', args)}: {output}");
            Assert.That(output, Does.Contain($"usage: imlogger {command}").And.Contain(expected).And.Contain("exit codes:")
                .And.Contain("/etc/imlogger/imlogger.xml"), string.Join(' ', args));
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task MistakesSayWhatToRunInstead()
    {
        var (code, output) = await ImLogger("frobnicate");
        Fails(code, output, "unknown command 'frobnicate'", "imlogger help");
        (code, output) = await ImLogger("run", "--frob");
        Fails(code, output, "unknown option '--frob'", "imlogger run --help");
        (code, output) = await ImLogger("--config", "x.xml", "run");
        Fails(code, output, "is an option, not a command", "imlogger help");
        (code, output) = await ImLogger("help", "frobnicate");
        Assert.That(code, Is.EqualTo(64), output);
        (code, output) = await ImLogger("run", "--config");
        Fails(code, output, "--config needs a value", "imlogger run --help");
        (code, output) = await ImLogger("run", "--config", "a.xml", "--config", "b.xml");
        Fails(code, output, "--config is given 2 times; give it once", "imlogger run --help");
        (code, output) = await ImLogger("check-config", "extra", "--config", "x.xml");
        Fails(code, output, "unexpected argument 'extra'", "imlogger check-config --help");
        (code, output) = await ImLogger("spool", "--config", "x.xml");
        Fails(code, output, "say what to do: spool status, spool retry", "imlogger spool --help");
        (code, output) = await ImLogger("spool", "show", "--config", "x.xml");
        Fails(code, output, "needs its ID (`imlogger spool show ID`)", "imlogger spool show --help");
        (code, output) = await ImLogger("spool", "frob", "--config", "x.xml");
        Fails(code, output, "unexpected argument 'frob'", "imlogger spool --help");
        (code, output) = await ImLogger("completion", "tcsh");
        Assert.That(code, Is.EqualTo(64), output);
        Assert.That(output, Does.Not.Contain("System.").And.Not.Contain("Exception").And.Not.Contain("   at "), "no .NET text");
    }

    [Test, CancelAfter(60_000)]
    public async Task BashCompletesCommandsSubcommandsAndOptions()
    {
        var (code, script) = await ImLogger("completion", "bash");
        Assert.That(code, Is.Zero, script);
        var dir = Paths.TempDir("imlogger-completion-");
        try
        {
            var file = Path.Combine(dir, "imlogger.bash");
            await File.WriteAllTextAsync(file, script);
            // The script calls the program by the name typed (COMP_WORDS[0]): here a function running the built program.
            async Task<string[]> CompleteAsync(params string[] typed)
            {
                var words = string.Join(' ', typed.Select(w => $"'{w}'"));
                var bash = $$"""
                    imlogger() { dotnet '{{Paths.ImLoggerDll}}' "$@"; }
                    . '{{file}}'
                    COMP_WORDS=(imlogger {{words}}); COMP_CWORD={{typed.Length}}
                    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
                    _imlogger
                    printf '%s\n' "${COMPREPLY[@]}"
                    """;
                var psi = new System.Diagnostics.ProcessStartInfo("bash", ["-c", bash]) { RedirectStandardOutput = true, RedirectStandardError = true };
                using var p = System.Diagnostics.Process.Start(psi)!;
                var output = await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
            Assert.That(await CompleteAsync("sp"), Is.EquivalentTo(new[] { "spool" }));
            Assert.That(await CompleteAsync("spool", "re"), Is.EquivalentTo(new[] { "retry", "release-seat", "release-quarantined" }));
            Assert.That(await CompleteAsync("check-config", "--st"), Is.EquivalentTo(new[] { "--strict" }));
            Assert.That(await CompleteAsync(""), Does.Contain("run").And.Contain("check-server").And.Contain("server-config"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test, CancelAfter(60_000)]
    public async Task TheManPageHoldsEverySubcommand()
    {
        var (code, page) = await ImLogger("help", "--man");
        Assert.That(code, Is.Zero, page);
        Assert.That(page, Does.StartWith(".TH IMLOGGER 1").And.Contain(".SS spool retry").And.Contain(".SS completion"));
        // The man page holds every command's help and the overview: a code-side placeholder such as {spool}.sock or
        // {spool}.identity reads as literal text to an operator.
        Assert.That(System.Text.RegularExpressions.Regex.Matches(page, @"\{[a-z]+\}").Select(m => m.Value), Is.Empty, "placeholders in the help");
    }

    private static void Fails(int code, string output, string problem, string instead)
    {
        Assert.That(code, Is.EqualTo(64), output);
        Assert.That(output, Does.Contain(problem).And.Contain(instead));
    }

    [Test, CancelAfter(60_000)]
    public async Task NoConfigOptionNamesTheDefaultPath()
    {
        if (File.Exists("/etc/imlogger/imlogger.xml")) Assert.Ignore("this machine has /etc/imlogger/imlogger.xml, so the default is used");
        var (code, output) = await ImLogger("check-config");
        Assert.That(code, Is.EqualTo(64), output);
        Assert.That(output, Does.Contain("no --config given and the default config /etc/imlogger/imlogger.xml does not exist"));
    }

    [Test, CancelAfter(60_000)]
    public async Task ReportAndSpoolStatusNeedNoSecret_CheckConfigStillDoes()
    {
        var dir = Paths.TempDir("imlogger-nosecret-");
        try
        {
            var config = Path.Combine(dir, "imlogger.xml");
            File.WriteAllText(config, $"""
                <imlogger>
                  <component jid="archive.example.test" port="{Paths.FreePort()}" secret-env="{ImLoggerProcess.SecretVariable}" />
                  <spool path="spool.db" />
                  <organization domain="example.test" endpoint="m" seats="10"><user jid="alice@example.test" /></organization>
                  <endpoints>
                    <secure-smtp name="m" host="smtp.example.com" username="u" password-file="{dir}/unreadable/smtp.password" from="a@example.com" to="b@example.com" />
                  </endpoints>
                </imlogger>
                """);
            foreach (var args in new[] { new[] { "report" }, ["spool", "status"] })
            {
                var (code, output) = await ImLogger([.. args, "--config", config]);
                Assert.That(code, Is.Zero, $"{string.Join(' ', args)} without the secrets: {output}");
            }
            var (checkCode, checkOutput) = await ImLogger("check-config", "--config", config);
            Assert.That(checkCode, Is.EqualTo(1), checkOutput);
            Assert.That(checkOutput, Does.Contain(ImLoggerProcess.SecretVariable));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

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

    /// <summary>
    /// One command of Prosody's admin shell, as an operator types it (<c>prosodyctl shell module reload imlogger_inline
    /// example.test</c> runs <c>module:reload("imlogger_inline", "example.test")</c>); needs
    /// <c>EnableModule("admin_shell")</c> before the start. Returns what it printed; a failure fails the test.
    /// </summary>
    public async Task<string> ShellAsync(params string[] command)
    {
        var (exitCode, text) = await ShellAnyAsync(command);
        Assert.That(exitCode, Is.Zero, $"prosodyctl shell {string.Join(' ', command)}:\n{text}");
        return text;
    }

    /// <summary>As <see cref="ShellAsync"/>, for a command that may fail (a module whose code fails to load).</summary>
    public async Task<(int ExitCode, string Text)> ShellAnyAsync(params string[] command)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/prosodyctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--config", ConfigPath, "shell" }.Concat(command)) psi.ArgumentList.Add(a);
        using var shell = System.Diagnostics.Process.Start(psi)!;
        var output = shell.StandardOutput.ReadToEndAsync();
        var error = shell.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30))) await shell.WaitForExitAsync(timeout.Token);
        return (shell.ExitCode, await output + await error);
    }
}

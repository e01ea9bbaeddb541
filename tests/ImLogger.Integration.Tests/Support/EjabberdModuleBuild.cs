using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ImLogger.ServerRules;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// Installs mod_imlogger_inline into an ejabberd's contributed-modules folder, built by the build.sh that
/// <c>imlogger server-config --out</c> wrote beside it, as an operator builds it: once per run for each distinct set of
/// module files (compared by content), then copied into every later server's folder.
/// </summary>
/// <remarks>
/// Every ejabberd case writes the same shipped files (only the config snippet differs), and compiling them is an erlc
/// VM start and four modules: about 1.5 s of CPU (measured three times at a load average of 38-40 on 2 cores, with or without
/// <see cref="EjabberdServer.ErlangFlags"/>; 8-14 s of wall time there) in each of about forty
/// ejabberd cases of a suite that is CPU-bound. A case whose files differ (a module changed by hand in a test) gets
/// its own build. A failed build is not remembered: the next case builds again, and reports its own failure.
/// </remarks>
internal static class EjabberdModuleBuild
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Built = new();

    /// <summary>Builds (or reuses the build of identical files) and copies the built module into
    /// <paramref name="modulesDir"/>.</summary>
    /// <param name="tapDir">Where <c>server-config --out</c> wrote build.sh and the module files.</param>
    /// <param name="modulesDir">The server's CONTRIB_MODULES_PATH.</param>
    public static async Task InstallAsync(string tapDir, string modulesDir)
    {
        var key = ContentKey(tapDir);
        var lazy = Built.GetOrAdd(key, _ => new Lazy<Task<string>>(() => BuildAsync(tapDir)));
        string built;
        try
        {
            built = await lazy.Value;
        }
        catch
        {
            Built.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, lazy));
            throw;
        }
        CopyTree(built, modulesDir);
    }

    private static string ContentKey(string tapDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in EjabberdInlineRules.ModuleFiles)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(name + "\0"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(tapDir, name)));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    private static async Task<string> BuildAsync(string tapDir)
    {
        // Its own folder, not the first case's (deleted when that case ends); removed when the test run's process exits.
        var output = Paths.TempDir("imlogger-ejmod-");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(output, recursive: true); } catch (IOException) { } };
        await using var build = ProcessRunner.Start("build.sh", "/bin/sh", [Path.Combine(tapDir, "build.sh"), output],
            new Dictionary<string, string> { ["ERL_FLAGS"] = EjabberdServer.ErlangFlags });
        var code = await build.WaitForExitAsync(TimeSpan.FromSeconds(60));
        // An exception, not Assert.Fail: the build is shared, and an assertion would be recorded against whichever test
        // started it rather than each test that waits for it.
        if (code != 0) throw new InvalidOperationException($"building mod_imlogger_inline with {Path.Combine(tapDir, "build.sh")} failed (exit {code}):\n{build.Output}");
        return output;
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
    }
}

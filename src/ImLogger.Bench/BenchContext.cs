using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ImLogger.Bench;

/// <summary>Where things are and small process/network helpers shared by the benchmarks.</summary>
internal sealed partial class BenchContext(string repoRoot, string workDir)
{
    public string RepoRoot { get; } = repoRoot;
    public string WorkDir { get; } = workDir;
    /// <summary>This tree's Release build, or <c>IMLOGGER_BENCH_DLL</c>: another build (e.g. an older commit's, from a
    /// throw-away worktree) measured by this bench, for a before/after with the same measures.</summary>
    public string ImLoggerDll => Environment.GetEnvironmentVariable("IMLOGGER_BENCH_DLL") is { Length: > 0 } other
        ? Path.GetFullPath(other) : Path.Combine(RepoRoot, "src", "ImLogger.Host", "bin", "Release", "net10.0", "imlogger.dll");
    public string NLogConfig => Path.Combine(RepoRoot, "config", "nlog.config");
    public string RecordedSession => Path.Combine(AppContext.BaseDirectory, "prosody-tap-session.xml");

    /// <summary>The config every section runs ImLogger with: alice@example.test logged, a directory archive, transcripts
    /// open for an hour. Returns its path.</summary>
    /// <param name="dir">The section's folder: the config goes in its <c>etc</c> folder, spool and archive in its <c>var</c>
    /// folder (<see cref="ConfigFile"/>, <see cref="SpoolFile"/>, <see cref="ArchiveDir"/>).</param>
    /// <param name="componentPort">Where Prosody (or the replay server) takes the component.</param>
    /// <param name="attach">An &lt;attach&gt; element (inline mode), or null for tap mode. Tap is written out
    /// (<c>mode="tap"</c>): since inline became the default, a config without &lt;attach&gt; runs inline, and the bench's
    /// "tap" column and its tap-copy sections silently measured inline mode (docs/performance.md, "The tap column").</param>
    /// <param name="notices">Off in the load and memory sections, so that "events spooled" counts exactly the copies
    /// (a notice goes out once an hour per conversation); on in the replay, which measures the notifier too.</param>
    public static string WriteConfig(string dir, int componentPort, string? attach = null, bool notices = false)
    {
        var path = PrepareConfigFile(dir);
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" host="127.0.0.1" port="{componentPort}" secret-env="IMLOGGER_COMPONENT_SECRET" />
              {attach ?? TapAttach}
              <spool path="{SpoolInConfig}" />
              <transcripts idle-close="1h" />
              <organization domain="example.test" endpoint="local-archive" seats="100">
                {(notices ? "" : "<notifications inside=\"off\" outside=\"off\" />")}
                <user jid="alice@example.test" />
              </organization>
              <endpoints>
                <directory name="local-archive" path="{ArchiveInConfig}" />
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    // The layout of a section's folder. The config lives apart from what ImLogger writes, as the Debian package keeps
    // /etc/imlogger apart from /var/lib/imlogger: ImLogger watches the config's folder for changes, and with the spool
    // beside the config every spool page write woke that watcher (3.8% of ImLogger's CPU in a perf profile of the load
    // section, docs/performance.md "The bench's folders").

    /// <summary>The config file of the section folder <paramref name="dir"/> (in its <c>etc</c> folder).</summary>
    public static string ConfigFile(string dir) => Path.Combine(dir, "etc", "imlogger.xml");

    /// <summary>The folder for what ImLogger writes (spool, archive): <c>var</c>, beside <c>etc</c>.</summary>
    public static string DataDir(string dir) => Path.Combine(dir, "var");

    /// <summary>The spool's file in the section folder <paramref name="dir"/>.</summary>
    public static string SpoolFile(string dir) => Path.Combine(DataDir(dir), "spool.db");

    /// <summary>The directory endpoint's archive in the section folder <paramref name="dir"/>.</summary>
    public static string ArchiveDir(string dir) => Path.Combine(DataDir(dir), "archive");

    /// <summary>The spool's path as a config in <see cref="ConfigFile"/> names it (relative to the config's folder).</summary>
    public const string SpoolInConfig = "../var/spool.db";

    /// <summary>The archive's path as a config in <see cref="ConfigFile"/> names it.</summary>
    public const string ArchiveInConfig = "../var/archive";

    /// <summary>Creates the <c>etc</c> and <c>var</c> folders of <paramref name="dir"/>; returns the config file's path.</summary>
    public static string PrepareConfigFile(string dir)
    {
        Directory.CreateDirectory(DataDir(dir));
        var path = ConfigFile(dir);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>Tap mode, said explicitly (inline is the default when &lt;attach&gt; is absent).</summary>
    public const string TapAttach = """<attach mode="tap" />""";

    public string NewDir(string name)
    {
        var dir = Path.Combine(WorkDir, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task WaitForPortAsync(int port, TimeSpan timeout, Func<string?> failed)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (failed() is { } why) throw new InvalidOperationException(why);
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Starts <c>imlogger</c> (the Release build) with <paramref name="args"/>; output lines are collected.</summary>
    public ImLoggerRun StartImLogger(string secret, string logLevel, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ImLoggerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["IMLOGGER_COMPONENT_SECRET"] = secret;
        psi.Environment["IMLOGGER_LOG_LEVEL"] = logLevel;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return new ImLoggerRun(Process.Start(psi)!);
    }

    /// <summary>Starts <see cref="FloorComponent"/> (this program, <c>floor-component</c>) on Prosody's component port.</summary>
    public ImLoggerRun StartFloorComponent(string secret, int port)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "imlogger-bench.dll"), "floor-component", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "archive.example.test" })
            psi.ArgumentList.Add(a);
        psi.Environment["IMLOGGER_COMPONENT_SECRET"] = secret;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return new ImLoggerRun(Process.Start(psi)!);
    }

    public static void Signal(int pid, int signal) => _ = Kill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>A running <c>imlogger</c> process.</summary>
internal sealed class ImLoggerRun : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();

    public ImLoggerRun(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data != null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) _lines.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }
    public int Pid => Process.Id;
    public IEnumerable<string> Lines => _lines;
    public string Output => string.Join('\n', _lines);

    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_lines.LastOrDefault(match) is { } line) return line;
            if (Process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"imlogger: no line showing {what} within {timeout.TotalSeconds:0} s. Output:\n{Output}");
    }

    /// <summary>SIGTERM and wait: the graceful stop, which logs how many events this run spooled.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!Process.HasExited) BenchContext.Signal(Process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(cts.Token);
        return Process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            try { await StopAsync(TimeSpan.FromSeconds(30)); }
            catch (OperationCanceledException) { Process.Kill(); }
        }
        Process.Dispose();
    }
}

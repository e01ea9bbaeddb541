using System.Net;
using System.Net.Sockets;

namespace ImLogger.Integration.Tests.Support;

internal static class Paths
{
    public static string TestDir => AppContext.BaseDirectory;

    /// <summary>The repository root (where ImLogger.sln is), for config/ and the shipped files.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(TestDir); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ImLogger.sln"))) return dir.FullName;
            throw new InvalidOperationException($"ImLogger.sln not found above {TestDir}");
        }
    }

    /// <summary>The imlogger the tests start: published ReadyToRun beside the tests, as the package ships it (see the
    /// PublishImLoggerReadyToRun target of this project: a JIT-compiled start costs more CPU, a few hundred times a run).</summary>
    public static string ImLoggerDll => Path.Combine(TestDir, "imlogger-r2r", "imlogger.dll");

    public static string NLogConfig => Path.Combine(RepoRoot, "config", "nlog.config");

    public static string ScenarioScript => Path.Combine(TestDir, "clients", "scenario.py");

    // Ports are handed out below the kernel's ephemeral range (32768-60999 on Linux), from a process-wide counter:
    // with fixtures running in parallel, a port bound-and-released from the ephemeral range can be taken as the source
    // port of another fixture's outgoing connection (or handed to a second fixture) before its server binds it.
    private const int FirstPort = 20000, PortSpan = 12000;
    private static int _nextPort = FirstPort + Random.Shared.Next(PortSpan);

    /// <summary>A loopback port nobody listens on right now and that no other test of this run was given.</summary>
    public static int FreePort()
    {
        for (var tries = 0; tries < PortSpan; tries++)
        {
            var port = FirstPort + (Interlocked.Increment(ref _nextPort) - FirstPort) % PortSpan;
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException($"no free loopback port between {FirstPort} and {FirstPort + PortSpan}");
    }

    public static string TempDir(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;
}

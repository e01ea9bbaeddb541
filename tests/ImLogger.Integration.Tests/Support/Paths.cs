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

    public static string ImLoggerDll => Path.Combine(TestDir, "imlogger.dll");

    public static string NLogConfig => Path.Combine(RepoRoot, "config", "nlog.config");

    public static string ScenarioScript => Path.Combine(TestDir, "clients", "scenario.py");

    /// <summary>A port nobody listens on right now (bound and released; good enough on loopback for tests).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDir(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;
}

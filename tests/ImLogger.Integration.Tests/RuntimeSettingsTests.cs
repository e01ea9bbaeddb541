using System.Text.Json;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The .NET runtime settings `imlogger` ships with (src/ImLogger.Host/ImLogger.Host.csproj), read from the
/// runtimeconfig.json beside the very imlogger.dll the other tests start.</summary>
[TestFixture]
public class RuntimeSettingsTests
{
    /// <summary>The thread pool's idle workers do not spin: ImLogger shares two cores with the XMPP server, and spinning
    /// workers cost it about seven sched_yield calls and preemptions per tap message at 500 msg/s, taking a core the
    /// server (one thread) may want (docs/performance.md, "Thread-pool spinning").</summary>
    [Test]
    public void ThreadPoolWorkersSleepInsteadOfSpinning()
    {
        var file = Path.ChangeExtension(Paths.ImLoggerDll, ".runtimeconfig.json");
        Assert.That(File.Exists(file), Is.True, $"{file} is missing: `dotnet imlogger.dll` would not start");
        using var json = JsonDocument.Parse(File.ReadAllText(file));
        var settings = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.That(settings.TryGetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out var spin), Is.True, settings.ToString());
        Assert.That(spin.GetInt32(), Is.EqualTo(0));
    }
}

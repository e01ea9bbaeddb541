using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// A background loop that fails stops the service with a non-zero exit code. .NET 10's host stops when a
/// <see cref="BackgroundService"/> throws (<see cref="BackgroundServiceExceptionBehavior.StopHost"/>), but its
/// <c>RunAsync</c> then completes normally, so the process would exit 0 and systemd's <c>Restart=on-failure</c> would do
/// nothing (.NET 11 changes that; this does the same now). After the host stops, every background service whose task
/// faulted is logged with what to do, and <c>imlogger run</c> exits with <see cref="ExitCode"/>.
/// </summary>
internal static class ServiceFaults
{
    /// <summary>EX_SOFTWARE (sysexits.h), an internal error: not among the unit's <c>RestartPreventExitStatus</c> (1, 2,
    /// 64: configurations that cannot work), so systemd starts the service again.</summary>
    public const int ExitCode = 70;

    /// <summary>The background services of <paramref name="services"/> whose loop failed, with the failure.</summary>
    public static IReadOnlyList<(string Service, Exception Error)> Of(IServiceProvider services) =>
        services.GetServices<IHostedService>().OfType<BackgroundService>()
            .Where(s => s.ExecuteTask is { IsFaulted: true })
            .Select(s => (s.GetType().Name, Unwrap(s.ExecuteTask!.Exception!)))
            .ToList();

    /// <summary>Logs each failed loop at Critical, with what to do; returns <see cref="ExitCode"/> when any failed.</summary>
    public static int? Report(IServiceProvider services, ILogger logger)
    {
        var faults = Of(services);
        foreach (var (service, error) in faults)
            logger.LogCritical(error,
                "ImLogger stops with exit code {Code}: {Service} failed ({Problem}: {Message}). What was acknowledged is in the spool and is " +
                "delivered after the restart; systemd starts the service again (Restart=on-failure). If it fails again at each start, keep " +
                "this log and a copy of the spool file and report it; `imlogger spool status` shows what waits.",
                ExitCode, service, error.GetType().Name, error.Message);
        return faults.Count > 0 ? ExitCode : null;
    }

    private static Exception Unwrap(AggregateException e) => e.InnerExceptions.Count == 1 ? e.InnerExceptions[0] : e;
}

/// <summary><c>IMLOGGER_FAULT_DRILL=1</c>: a loop that fails on purpose a second after start, so an operator (and the
/// tests) can see a failed loop stop <c>imlogger run</c> with exit code 70 and systemd start it again.</summary>
internal sealed class FaultDrillService(ILogger<FaultDrillService> logger) : BackgroundService
{
    /// <summary>The environment variable that turns the drill on.</summary>
    public const string Variable = "IMLOGGER_FAULT_DRILL";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
        logger.LogWarning("{Variable} is set: this loop fails now, on purpose", Variable);
        throw new InvalidOperationException($"fault drill ({Variable} is set)");
    }
}

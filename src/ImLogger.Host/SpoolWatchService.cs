using ImLogger.Spool;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// The spool's watchdog: once a second, <see cref="LiteDbSpool.Watch"/> checks that the spool file is still the one
/// opened (not deleted, replaced or moved, no damaged page met) and records progress in its identity marker. When it is
/// not, the service stops with exit code 3: writing on would capture users' messages into a file nobody will find
/// (inline fail-closed then refuses them instead), and the next start meets the marker's check.
/// </summary>
internal sealed class SpoolWatchService(LiteDbSpool spool, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<SpoolWatchService> logger)
    : BackgroundService
{
    /// <summary>The exit code when the spool is lost or damaged while running.</summary>
    public const int SpoolLostExitCode = 3;

    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (spool.Watch() is not { } problem) continue;
                logger.LogError("{Problem}. ImLogger stops (exit code {Code}) rather than write into a spool nobody will read.", problem, SpoolLostExitCode);
                Environment.ExitCode = SpoolLostExitCode;
                lifetime.StopApplication();
                return;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

using System.Runtime.ExceptionServices;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// What happens when one of the service's own loops ends while it runs. Per loop, and why:
/// <list type="bullet">
/// <item>The spooling loop (Core's <see cref="Ingest.IngestLoop"/>: classify, store, reply) and the delivery loop: the service stops, logged at Critical with what
/// to do, and exits 70 (<see cref="ServiceFaults"/>), so systemd starts it again. Restarting them in place is not safer:
/// their memory (the batch being classified, the open conversations, the reader's queue) may be half updated, and a fresh
/// start rebuilds all of it from the spool, which holds everything acknowledged. Left alone, the spooling loop's end
/// would stall reading from the server for good (inline: every held stanza refused) without a word.</item>
/// <item>Storing a batch that fails (disk full) is retried in place with backoff (by the ingest loop), and so is the
/// idle close (every tick) and each endpoint's delivery pass (every poll): those failures are outside, and pass.</item>
/// </list>
/// </summary>
internal sealed partial class ArchiveService
{
    private volatile bool _stopping;
    private Exception? _loopFailure;

    /// <summary>Stops the service if <paramref name="loop"/> ends (or fails) before the service is stopping.</summary>
    private void StopIfItEnds(Task loop, string name) =>
        _ = loop.ContinueWith(t =>
        {
            if (_stopping && !t.IsFaulted) return;
            var error = t.Exception is { } e ? (e.InnerExceptions.Count == 1 ? e.InnerExceptions[0] : e)
                : new InvalidOperationException($"{name} ended while the service was running");
            Interlocked.CompareExchange(ref _loopFailure, error, null);
            logger.LogCritical(error, "{Loop} failed ({Problem}: {Message}); ImLogger stops so that it starts again from the spool",
                name, error.GetType().Name, error.Message);
            lifetime.StopApplication();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Waits for a loop without throwing: its failure is <see cref="StopIfItEnds"/>'s to report.</summary>
    private static Task Settled(Task loop) => loop.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>Fails the service (exit code 70, <see cref="ServiceFaults"/>) after the orderly stop, when a loop failed.</summary>
    private void ThrowIfALoopFailed()
    {
        if (_loopFailure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Says at start that transcripts wait in the quarantine: they are delivered by no one until released.</summary>
    private void WarnOfQuarantine()
    {
        if (spoolHealth.QuarantinedCount() is not (> 0 and var count)) return;
        logger.LogWarning("{Count} transcript(s) in the spool are quarantined: a record of each cannot be read by this version, so they are " +
                          "not delivered. `imlogger spool status` lists them and what to do; `imlogger spool release-quarantined` once they read.", count);
    }
}

using ImLogger.Continuity;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;

namespace ImLogger.Pipeline;

public sealed partial class StanzaPipeline
{
    /// <summary>Writes what must survive a restart (calls in progress, notices sent; Spool/ContinuityLog.cs) once the
    /// batch's events are stored and before its notices go out.</summary>
    /// <remarks>Only for a spool without a unit of work (the real spool writes continuity inside the batch's one write:
    /// StanzaPipeline.UnitOfWork.cs). Here it is its own write: a failure is logged and the changes stay pending for the
    /// next batch, as throwing would make the caller store the batch's events twice.</remarks>
    private void KeepContinuity()
    {
        if (notifier.Continuity is not { } log) return;
        try
        {
            log.Flush();
        }
        catch (Exception e)
        {
            logger.LogWarning("Could not keep calls in progress and notices sent in the spool ({Problem}); {Pending} change(s) are retried with the " +
                              "next batch. A restart before then may tell someone again or lose a call's duration", e.Message, log.PendingCount);
        }
    }
}

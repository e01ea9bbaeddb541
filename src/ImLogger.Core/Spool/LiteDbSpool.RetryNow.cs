using LiteDB;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool
{
    /// <summary>Makes the endpoint's waiting deliveries due now (the operator's <c>imlogger spool retry</c> while the service is
    /// stopped, after fixing the endpoint): their backed-off next attempts are cleared, so they sort first in the due order
    /// (with the never-tried ones, oldest closed first) and the next start tries them before anything scheduled later,
    /// even when that start does not sweep its waiting deliveries.</summary>
    /// <remarks>Attempts and the last error stay: if the endpoint fails again, the backoff goes on from where it was
    /// (it never shrinks) and the retry horizon is unchanged. Dead letters are <see cref="RequeueDead"/>'s. Meant for a
    /// stopped service: a running one sweeps in memory instead (a cleared slot cannot be given back when the endpoint
    /// fails again).</remarks>
    /// <param name="endpoint">Only this endpoint's deliveries; null for all.</param>
    /// <returns>How many waiting deliveries were made due now.</returns>
    public int MarkWaitingDueNow(string? endpoint)
    {
        var count = 0;
        Write(() =>
        {
            count = 0;
            var endpoints = endpoint is not null ? [endpoint] : QueueCounts.FindAll().Select(c => c[C_Endpoint].AsString).ToList();
            foreach (var name in endpoints)
            {
                // Every pending entry with a next attempt at all (the never-tried ones are due already).
                var (from, to) = ScheduledAfterRange(name, 0);
                foreach (var entry in Queue.Find(Query.Between(Q_Due, from, to)).ToList())
                {
                    var transcriptId = entry[Q_Transcript].AsString;
                    if (_transcripts.FindById(transcriptId) is not { } doc || IsQuarantined(doc) || HeaderProblem(doc) is not null)
                        continue;
                    SetQueueState(entry, DeliveryState.Pending, entry[Q_Attempts].AsInt32, null, entry[Q_Error].IsNull ? null : entry[Q_Error].AsString);
                    Queue.Update(entry);
                    var delivery = doc[F_Deliveries].AsArray.Select(d => d.AsDocument).FirstOrDefault(d => d[D_Endpoint].AsString == name);
                    if (delivery is null) continue;
                    delivery[D_Next] = BsonValue.Null;
                    _transcripts.Update(doc);
                    count++;
                }
            }
        });
        return count;
    }
}

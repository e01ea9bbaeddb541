using LiteDB;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool
{
    /// <inheritdoc />
    public void RecordCopyMayExist(string transcriptId, string endpoint, DateTimeOffset atUtc)
    {
        Write(() =>
        {
            var doc = _transcripts.FindById(transcriptId);
            var delivery = doc?[F_Deliveries].AsArray.Select(d => d.AsDocument).FirstOrDefault(d => d[D_Endpoint].AsString == endpoint);
            if (doc is null || delivery is null)
            {
                _logger.LogWarning("RecordCopyMayExist: transcript {Id} is not owed to {Endpoint} (any more)", transcriptId, endpoint);
                return;
            }
            // The first unknown outcome is the one that matters: a copy may exist since then.
            if (delivery.TryGetValue(D_CopyMayExist, out var since) && !since.IsNull) return;
            delivery[D_CopyMayExist] = Instant(atUtc);
            _transcripts.Update(doc);
            if (Queue.FindById(QueueId(transcriptId, endpoint)) is { } entry)
            {
                entry[Q_Copy] = EndpointKey(endpoint);
                Queue.Update(entry);
            }
        });
    }
}

using System.Xml.Linq;
using ImLogger.Inline;
using Microsoft.Extensions.Logging;

namespace ImLogger.Ingest;

/// <summary>
/// Inline mode across a restart (docs/inline-protocol.md, "While ImLogger is away"): the server's module keeps what it
/// holds while ImLogger is away and sends every request that was not answered again to the next start. So a request
/// must be answered if and only if it was stored, as far as ImLogger can make it so: a graceful stop answers every
/// request it has read before it closes the stream and does not store those that arrive after the stop began; a crash
/// between storing and answering is covered by recalling the recent events at the next start, so that a request sent
/// again is recognised and archived once.
/// </summary>
public sealed partial class IngestLoop
{
    private long _unanswered;
    private int _verdictsClosing;
    private int _leftForNextStart;

    /// <summary>Inline: verdict requests that arrived after the stop began, left for the next start.</summary>
    public int LeftForNextStartCount => Volatile.Read(ref _leftForNextStart);

    private ValueTask Enqueue(XElement stanza, CancellationToken token)
    {
        Interlocked.Increment(ref _unanswered);
        return _queue.Writer.WriteAsync(stanza, token);
    }

    private void AnsweredBatch(int count) => Interlocked.Add(ref _unanswered, -count);

    /// <summary>Inline, once the stop began: a verdict request is not stored, and so not answered; the module sends it
    /// again to the next start (or refuses it after its timeout).</summary>
    private bool LeftForNextStart(XElement stanza)
    {
        if (!options.Inline || Volatile.Read(ref _verdictsClosing) == 0) return false;
        if (stanza.Name.LocalName != "iq" || stanza.Element(InlineRequest.Ns + "batch") is null) return false;
        Interlocked.Increment(ref _leftForNextStart);
        return true;
    }

    /// <summary>Tap: the connection stops at once (it drains the copies still on their way). Inline: first every request
    /// already read is stored and answered, then the stream closes.</summary>
    private void StopConnection(CancellationTokenSource connectionStop)
    {
        if (!options.Inline)
        {
            connectionStop.Cancel();
            return;
        }
        Volatile.Write(ref _verdictsClosing, 1);
        _ = Task.Run(async () =>
        {
            var waited = TimeSpan.Zero;
            var step = TimeSpan.FromMilliseconds(20);
            while (Interlocked.Read(ref _unanswered) > 0 && waited < options.AnswerBeforeStop && !_readingEnded)
            {
                await Task.Delay(step, time);
                waited += step;
            }
            var left = Interlocked.Read(ref _unanswered);
            if (left > 0)
                logger.LogWarning("Stopping with {Count} stanza(s) read from the server not yet stored and answered after {Seconds} s; the server's module sends them again to the next start",
                    left, options.AnswerBeforeStop.TotalSeconds);
            logger.LogInformation("Stopping: every verdict request read was answered; {Count} request(s) that arrived during the stop are left for the next start (the server's module sends them again)",
                Volatile.Read(ref _leftForNextStart));
            if (!_readingEnded) await connectionStop.CancelAsync();
        });
    }

    /// <summary>After a crash, the module sends again the requests ImLogger stored but had not answered: the events of
    /// the open conversations received within the dedup window are remembered, so those come in as repeats. Call once,
    /// before <see cref="RunAsync"/>.</summary>
    /// <returns>How many events were recalled (0 in tap mode).</returns>
    public int RecallRecentEvents()
    {
        if (!options.Inline) return 0;
        // Whatever the dedup window: the module sends a stanza again up to its timeout after holding it, and the events
        // it may send again were stored after it held them. A margin covers a wall clock that moved a little meanwhile.
        var window = (options.ResentWithin > options.DedupWindow ? options.ResentWithin : options.DedupWindow) + TimeSpan.FromSeconds(30);
        var since = time.GetUtcNow() - window;
        var recalled = 0;
        foreach (var header in spool.OpenTranscripts().Where(h => h.LastEventUtc >= since))
        {
            try
            {
                foreach (var e in spool.Load(header.Id)?.Events.Where(e => e.ReceivedUtc >= since) ?? [])
                {
                    dedup.Recall(e, window);
                    recalled++;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning("Cannot recall the recent events of transcript {Id} ({Reason}): a request the server sends again after a crash may be archived twice",
                    header.Id, ex.Message);
            }
        }
        // And what was answered, whatever its transcript became: a graceful stop closes the open transcripts (and they may
        // be delivered and gone), yet the module sends again a stanza whose verdict it did not read before the stream
        // ended, or the other copy of a message held twice (a room's reflection, the recipient's copy) that was in flight.
        if (Answered is { } answered)
        {
            try
            {
                foreach (var (e, content) in answered.AnsweredSince(window))
                {
                    if (e.ReceivedUtc < since) continue;
                    dedup.Recall(e, window, content);
                    recalled++;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogWarning("Cannot recall what the last verdicts allowed ({Reason}): a stanza the server sends again after a restart may be archived twice",
                    ex.Message);
            }
        }
        return recalled;
    }
}

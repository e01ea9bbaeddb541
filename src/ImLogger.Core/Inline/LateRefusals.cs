using ImLogger.Conversations;
using ImLogger.Domain;

namespace ImLogger.Inline;

/// <summary>
/// Inline, fail-closed: when ImLogger's verdicts come too late (the spool could not write, say), the adapter has
/// already refused the held stanzas, yet ImLogger stores them once it can, as if they had been delivered. The adapter
/// reports such requests in a later one (<see cref="InlineRefusal"/>); this remembers, for the last verdict requests,
/// what was archived as allowed, and turns a report into <see cref="EventKind.Refused"/> events, so that the archive
/// says which stanzas recorded above never reached anyone. The archive is appended to, never rewritten.
/// </summary>
/// <remarks>Called from the pipeline's one loop. Keeps light copies (no raw XML, text cut to 300 characters) of the
/// last <c>capacity</c> requests: while the spool cannot write, no new request is read, so the window holds. Capacity 0
/// keeps nothing: in fail-open mode the adapter delivers on failure and reports no refusal. With a <paramref name="durable"/>
/// store (the spool) the copies are also written with the batch's events, so a report that reaches the next run of
/// ImLogger (killed before its verdicts went out; the module refused the stanzas after its timeout) still finds them.</remarks>
public sealed class LateRefusals(TimeProvider time, int capacity = 256, IAnsweredRequests? durable = null)
{
    private readonly Dictionary<string, List<ConversationEvent>> _byRequest = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>The events archived as allowed for one verdict request.</summary>
    public void Remember(string requestId, IReadOnlyList<ConversationEvent> allowed)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(allowed);
        if (capacity == 0 || allowed.Count == 0 || _byRequest.ContainsKey(requestId)) return;
        var light = allowed.Select(e => e with { RawXml = "", Html = null, Text = Cut(e.Text) }).ToList();
        _byRequest[requestId] = light;
        // The digest of each full event's content, as the dedup window keys it, when a light copy lost some (its HTML, the
        // text past 300 characters): a copy the module sends again to the next run must still be known by it. Otherwise
        // the light copies key as the events do, and no digest is computed on the ingest path.
        var lost = allowed.Any(e => e.Html is not null || !ReferenceEquals(Cut(e.Text), e.Text));
        durable?.RememberAnswered(requestId, light, lost ? [.. allowed.Select(ContentOf)] : null);
        _order.Enqueue(requestId);
        while (_order.Count > capacity) _byRequest.Remove(_order.Dequeue());
    }

    private static byte[] ContentOf(ConversationEvent e)
    {
        var digest = new byte[Classifier.DedupKeys.ContentBytes];
        Classifier.DedupKeys.Content(e, digest);
        return digest;
    }

    /// <summary>The refusal events for a reported request: one per stanza it archived as delivered. Empty when the
    /// request is unknown (ImLogger never read it, or it is older than the window) or was already reported.</summary>
    public IReadOnlyList<ConversationEvent> Refused(InlineRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        if (capacity == 0) return [];
        // The durable record is taken either way: it is forgotten in the write that stores these refusal events.
        var stored = durable?.TakeAnswered(refusal.RequestId);
        var allowed = _byRequest.Remove(refusal.RequestId, out var kept) ? kept : stored?.ToList();
        if (allowed == null) return [];
        var now = time.GetUtcNow();
        return allowed.Select(e => e with
        {
            Id = Guid.NewGuid().ToString("N"),
            ReceivedUtc = now,
            Kind = EventKind.Refused,
            Text = e.Text ?? Describe(e.Kind),
            Rule = RefusalRule.ServerTimeout,
            Reason = $"recorded above at {e.ReceivedUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, but NOT DELIVERED: the server refused it " +
                     $"({refusal.Reason}) because ImLogger's verdict came too late",
        }).ToList();
    }

    /// <summary>Makes the copies remembered for this batch durable when the batch appended no event of its own (a
    /// request whose stanzas were all repeats of ones stored before a crash).</summary>
    public void Flush() => durable?.FlushAnswered();

    private static string Describe(EventKind kind) => kind switch
    {
        EventKind.Joined => "group chat join",
        EventKind.Left => "group chat leave",
        _ => kind.ToString(),
    };

    private static string? Cut(string? text) => text is { Length: > 300 } ? text[..300] + "…" : text;
}

using ImLogger.Inline;

namespace ImLogger.Telemetry;

/// <summary>The pipeline's and the dispatcher's additions to <see cref="ImLoggerMetrics"/>, one call per site.</summary>
internal static class PipelineMetrics
{
    /// <summary>One inline batch's verdicts: accepted or refused, and each refusal's rule.</summary>
    public static void Count(IReadOnlyList<(string ItemId, InlineVerdict Verdict)> verdicts)
    {
        if (!ImLoggerMetrics.Verdicts.Enabled && !ImLoggerMetrics.Refusals.Enabled) return;
        foreach (var (_, verdict) in verdicts)
        {
            ImLoggerMetrics.Verdicts.Add(1, new KeyValuePair<string, object?>("verdict", verdict.Allowed ? "accepted" : "refused"));
            if (!verdict.Allowed) ImLoggerMetrics.Refusals.Add(1, new KeyValuePair<string, object?>("rule", (verdict.Rule ?? RefusalRule.Unknown).Name()));
        }
    }
}

/// <summary>The dispatcher's delivery outcomes.</summary>
internal static class DeliveryMetrics
{
    public static void Count(string endpoint, string outcome) =>
        ImLoggerMetrics.Deliveries.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("outcome", outcome));
}

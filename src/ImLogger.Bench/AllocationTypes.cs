using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace ImLogger.Bench;

/// <summary>
/// The runtime's allocation sampling (an AllocationTick event about every 100 KB allocated, naming the type of the object
/// that crossed the mark), listened to in process: which types the bytes of a stage go to, without a profiler attached.
/// A sample stands for about 100 KB, so a type's share of the ticks is its share of the bytes.
/// </summary>
internal sealed class AllocationTypes : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _counting;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_counting || e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload == null) return;
        var type = e.PayloadNames?.IndexOf("TypeName") is >= 0 and var t ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames?.IndexOf("AllocationAmount64") is >= 0 and var a ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Start() { _bytes.Clear(); _counting = true; }

    /// <summary>The <paramref name="top"/> types by sampled bytes, each with its share.</summary>
    public string Stop(int top = 6)
    {
        _counting = false;
        var total = _bytes.Values.Sum();
        if (total == 0) return "-";
        return string.Join(", ", _bytes.OrderByDescending(kv => kv.Value).Take(top)
            .Select(kv => $"{Short(kv.Key)} {kv.Value * 100.0 / total:0}%"));
    }

    private static string Short(string type)
    {
        var generic = type.IndexOf('[');
        var name = generic > 0 ? type[..generic] : type;
        var dot = name.LastIndexOf('.');
        return (dot >= 0 ? name[(dot + 1)..] : name) + (generic > 0 ? "<…>" : "");
    }
}

using ImLogger.Config;
using ImLogger.Dispatch;
using ImLogger.Spool;

namespace ImLogger.Host;

internal static partial class SpoolCommand
{
    /// <summary><c>imlogger spool retry [NAME]</c>, after the operator fixed an endpoint: its dead letters go back to pending,
    /// and its waiting deliveries are tried now rather than at their scheduled slots (which back off to minutes).</summary>
    /// <remarks>With the service running (through its control socket) the dispatcher starts at once; as at a start, the
    /// endpoint's first failure puts the rest back on their slots, so an endpoint still broken is not hammered. With the
    /// service stopped nothing can be delivered now: dead letters are put back in the spool file, and the next start tries
    /// every waiting delivery at once anyway (<see cref="DispatcherOptions.RetryWaitingAtStart"/>).</remarks>
    private static int Retry(ImLoggerConfig config, LiteDbSpool spool, string? endpoint, Terminal terminal, Dispatcher? running)
    {
        var backlog = spool.Backlog();
        if (endpoint is not null && config.Endpoints.All(e => e.Name != endpoint) && backlog.All(b => b.Endpoint != endpoint))
        {
            terminal.Err.WriteLine($"imlogger: no endpoint '{endpoint}' in the config or the spool; `imlogger spool status` lists them");
            return 64;
        }
        var names = endpoint is not null ? [endpoint] : backlog.Select(b => b.Endpoint).ToList();
        var waiting = backlog.ToDictionary(b => b.Endpoint, b => b.Pending, StringComparer.Ordinal);
        // Dead letters first: once pending they are due at once, and the dispatcher's pass below picks them up too.
        var requeued = names.ToDictionary(n => n, spool.RequeueDead, StringComparer.Ordinal);
        var served = running?.RetryWaitingNow(endpoint) ?? [];
        if (names.Count == 0)
        {
            terminal.Out.WriteLine("nothing waits for delivery: no dead letters, no waiting deliveries");
            return 0;
        }
        foreach (var name in names)
        {
            var dead = requeued[name];
            var pending = waiting.GetValueOrDefault(name);
            var now = running is null ? "retried at once when `imlogger run` starts"
                : served.Contains(name) ? "tried now"
                : "not tried: the running service has no such endpoint (add it to the config)";
            terminal.Out.WriteLine($"{dead} dead deliver{(dead == 1 ? "y" : "ies")} to '{name}' back to pending; {pending} waiting deliver{(pending == 1 ? "y" : "ies")} {now}");
        }
        terminal.Out.WriteLine(running is null
            ? "the service is not running: `imlogger run` tries them all as soon as it starts"
            : "the running service is delivering them now; `imlogger spool status` shows what is left (if the endpoint fails again, the rest wait for their slots)");
        return 0;
    }
}

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
    /// service stopped nothing can be delivered now: dead letters are put back in the spool file and waiting deliveries are
    /// made due now there (<see cref="LiteDbSpool.MarkWaitingDueNow"/>), so the next start tries them first, whatever it
    /// sweeps by itself (<see cref="DispatcherOptions.RetryWaitingAtStart"/>).</remarks>
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
        // Stopped: the slots are cleared in the file. Running: the dispatcher sweeps in memory and, if the endpoint fails
        // again, gives the rest their slots back (clearing them in the file would have it try them one by one).
        var madeDue = running is null ? names.ToDictionary(n => n, spool.MarkWaitingDueNow, StringComparer.Ordinal) : null;
        if (names.Count == 0)
        {
            terminal.Out.WriteLine("nothing waits for delivery: no dead letters, no waiting deliveries");
            return 0;
        }
        foreach (var name in names)
        {
            var dead = requeued[name];
            var pending = waiting.GetValueOrDefault(name);
            var now = madeDue is not null ? $"due now in the spool ({madeDue[name]} had a later slot): tried first when `imlogger run` starts"
                : served.Contains(name) ? "tried now"
                : "not tried: the running service has no such endpoint (add it to the config)";
            terminal.Out.WriteLine($"{dead} dead deliver{(dead == 1 ? "y" : "ies")} to '{name}' back to pending; {pending} waiting deliver{(pending == 1 ? "y" : "ies")} {now}");
        }
        terminal.Out.WriteLine(running is null
            ? "the service is not running: nothing is delivered now; `imlogger run` tries them first as soon as it starts"
            : "the running service is delivering them now; `imlogger spool status` shows what is left (if the endpoint fails again, the rest wait for their slots)");
        return 0;
    }
}

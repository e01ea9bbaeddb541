using ImLogger.Config;
using ImLogger.Inline;
using ImLogger.Xmpp;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// Inline mode with an organization logged by default: tells mod_imlogger_inline on its hosts that the seats changed
/// (<see cref="InlineVerdict.SeatsChanged"/>), so that users it stopped holding because they had no seat are held
/// again and may take one. Said when the component connects (the config may have changed while it was away) and
/// after every reload.
/// </summary>
internal sealed class SeatsAnnouncer
{
    private readonly ConfigHolder _holder;
    private readonly ComponentConnection _connection;
    private readonly ILogger<SeatsAnnouncer> _logger;

    public SeatsAnnouncer(ConfigHolder holder, ComponentConnection connection, ILogger<SeatsAnnouncer> logger)
    {
        _holder = holder;
        _connection = connection;
        _logger = logger;
        // Raised on the connection's reader: send from elsewhere, so the first stanzas are not held up.
        connection.Connected += () => _ = Task.Run(() => AnnounceAsync("connected"));
    }

    public async Task AnnounceAsync(string reason)
    {
        var notices = InlineVerdict.SeatsChanged(_holder.Current);
        if (notices.Count == 0 || !_connection.IsConnected) return;
        try
        {
            foreach (var notice in notices) await _connection.SendAsync(notice, CancellationToken.None);
            _logger.LogDebug("Told {Hosts} that the seats may have changed ({Reason})", string.Join(", ", notices.Select(n => (string?)n.Attribute("to"))), reason);
        }
        catch (ComponentNotConnectedException)
        {
            // The next connection says it again.
        }
    }
}

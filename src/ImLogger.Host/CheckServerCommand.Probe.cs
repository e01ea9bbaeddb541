using System.Net.Sockets;
using System.Security;
using System.Text;
using ImLogger.Config;

namespace ImLogger.Host;

internal static partial class CheckServerCommand
{
    /// <summary>How long the probe waits for Prosody's answer: a listener answers a stream header at once.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// With no service running, what the component port says to a stream header for ImLogger's JID (no secret is sent): the
    /// usual reasons the service cannot run are a missing Include (Prosody does not know the component), the wrong port
    /// (c2s or s2s answered), or nothing listening (Prosody down, or reloaded rather than restarted after the Include).
    /// </summary>
    /// <returns>One line saying what to do.</returns>
    private static string Probe(ImLoggerConfig config)
    {
        var c = config.Component;
        var where = $"{c.Host}:{c.Port}";
        string answer;
        try
        {
            using var cts = new CancellationTokenSource(ProbeTimeout);
            using var client = new TcpClient();
            client.ConnectAsync(c.Host, c.Port, cts.Token).AsTask().GetAwaiter().GetResult();
            using var stream = client.GetStream();
            var header = $"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{SecurityElement.Escape(c.Jid)}'>";
            stream.WriteAsync(Encoding.UTF8.GetBytes(header), cts.Token).AsTask().GetAwaiter().GetResult();
            var read = new StringBuilder();
            var buffer = new byte[4096];
            // Until the peer closes, or is quiet for half a second after its first bytes (a component port waits for the handshake).
            while (read.Length < 16384)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                if (read.Length > 0) quiet.CancelAfter(TimeSpan.FromMilliseconds(500));
                int n;
                try
                {
                    n = stream.ReadAsync(buffer, quiet.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException) when (read.Length > 0 && !cts.IsCancellationRequested)
                {
                    break;
                }
                if (n == 0) break;
                read.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
            answer = read.ToString();
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return $"nothing answers on the component port {where} ({(e is OperationCanceledException ? "no answer in time" : e.Message)}): Prosody is down, " +
                   $"or it does not load the Component \"{c.Jid}\" (declared in imlogger.cfg.lua: check that prosody.cfg.lua has Include \"DIR/imlogger.cfg.lua\", " +
                   "and restart Prosody, `prosodyctl reload` does not open a new component port), or <component port> is not Prosody's component_ports";
        }
        if (answer.Contains("'jabber:client'", StringComparison.Ordinal) || answer.Contains("\"jabber:client\"", StringComparison.Ordinal))
            return $"WRONG PORT: {where} is Prosody's client (c2s) port, not its component port: set <component port=\"...\"> in {config.SourcePath} to Prosody's component_ports (5347 by default)";
        if (answer.Contains("'jabber:server'", StringComparison.Ordinal) || answer.Contains("\"jabber:server\"", StringComparison.Ordinal))
            return $"WRONG PORT: {where} is Prosody's server-to-server (s2s) port, not its component port: set <component port=\"...\"> in {config.SourcePath} to Prosody's component_ports (5347 by default)";
        if (answer.Contains("host-unknown", StringComparison.Ordinal))
            return $"INCLUDE MISSING: Prosody's component port {where} does not know \"{c.Jid}\": the Component is declared in imlogger.cfg.lua, so prosody.cfg.lua " +
                   "lacks Include \"DIR/imlogger.cfg.lua\" (DIR: where `imlogger server-config --out` or <attach rules-out> writes), or Prosody was reloaded, not restarted, " +
                   "after it was added: add the Include and run `systemctl restart prosody`";
        return $"the component port {where} answers for \"{c.Jid}\": Prosody is ready, start `imlogger run`";
    }
}

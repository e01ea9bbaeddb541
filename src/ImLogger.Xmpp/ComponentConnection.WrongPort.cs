namespace ImLogger.Xmpp;

public sealed partial class ComponentConnection
{
    /// <summary>
    /// The stream header's default namespace says which Prosody listener answered: <c>jabber:client</c> is c2s (5222),
    /// <c>jabber:server</c> is s2s (5269). Without this check the c2s listener's <c>host-unknown</c> (our component domain
    /// is not one of its VirtualHosts) reads as "unknown component domain", and the s2s listener's refusal of our
    /// namespace as a bug in ImLogger. The fix is a port, on either side (ImLogger's <c>&lt;component port&gt;</c>, or
    /// Prosody's <c>component_ports</c> and a restart of Prosody), so it is retried like a server that is down: a fix on
    /// Prosody's side is picked up without touching ImLogger, and a service is never left stopped by it.
    /// </summary>
    private void ThrowIfNotComponentStream(string? streamNamespace)
    {
        var listener = streamNamespace switch
        {
            "jabber:client" => "client (c2s) port",
            "jabber:server" => "server-to-server (s2s) port",
            _ => null,
        };
        if (listener is null) return;
        throw new WrongPortException(
            $"port {_options.Port} is Prosody's {listener}, not its component port (it opened a {streamNamespace} stream); " +
            "set <component port=\"...\"> to the port of Prosody's component_ports (5347 by default) and restart ImLogger, " +
            "or give Prosody that component port and restart Prosody");
    }
}

/// <summary>The port answered as Prosody's c2s or s2s listener, not as a component port: logged at ERROR on every attempt,
/// and retried.</summary>
internal sealed class WrongPortException(string message) : Exception(message);

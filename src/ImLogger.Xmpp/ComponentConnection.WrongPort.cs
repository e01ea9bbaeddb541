namespace ImLogger.Xmpp;

public sealed partial class ComponentConnection
{
    /// <summary>The <see cref="ComponentFatalException.Condition"/> of a port that is not a component port.</summary>
    public const string WrongPortCondition = "not-a-component-port";

    /// <summary>
    /// The stream header's default namespace says which Prosody listener answered: <c>jabber:client</c> is c2s (5222),
    /// <c>jabber:server</c> is s2s (5269). Without this check the c2s listener's <c>host-unknown</c> (our component domain
    /// is not one of its VirtualHosts) reads as "unknown component domain", and the s2s listener's refusal of our
    /// namespace as a bug in ImLogger; the fix is the port, and no retry finds it, so it is fatal.
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
        throw new ComponentFatalException(WrongPortCondition,
            $"port {_options.Port} is Prosody's {listener}, not its component port (it opened a {streamNamespace} stream); " +
            "set <component port=\"...\"> to the port of Prosody's component_ports (5347 by default)");
    }
}

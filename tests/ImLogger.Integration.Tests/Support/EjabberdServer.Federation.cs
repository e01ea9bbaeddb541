using System.Globalization;

namespace ImLogger.Integration.Tests.Support;

/// <summary>Server-to-server for <see cref="FederatedServers"/>: off unless <see cref="Federate"/> was called.</summary>
internal sealed partial class EjabberdServer
{
    private string? _s2sAddress;
    private int _peerS2sPort;

    /// <summary>
    /// Lets this ejabberd federate over loopback: s2s listens on <paramref name="s2sAddress"/>:5269 (the port Prosody's
    /// resolver always dials, see <see cref="FederatedServers"/>) and connects out to port <paramref name="peerS2sPort"/>
    /// (<c>outgoing_s2s_port</c>, used when no SRV record answers, which is always the case for a domain that is an IP
    /// literal: ejabberd then dials the literal itself, no DNS). No TLS on loopback: both sides authenticate with dialback
    /// (XEP-0220, <c>mod_s2s_dialback</c>), each connecting back to the other's domain. Call before <see cref="StartAsync"/>.
    /// </summary>
    public void Federate(string s2sAddress, int peerS2sPort)
    {
        _s2sAddress = s2sAddress;
        _peerS2sPort = peerS2sPort;
        File.WriteAllText(ConfigPath, Config());
    }

    private string S2sOptions => _s2sAddress == null
        ? "s2s_access: none"
        : string.Create(CultureInfo.InvariantCulture, $"s2s_access: all\ns2s_use_starttls: false\noutgoing_s2s_port: {_peerS2sPort}");

    private string S2sListener => _s2sAddress == null
        ? ""
        : $"  -\n    port: 5269\n    ip: \"{_s2sAddress}\"\n    module: ejabberd_s2s_in";

    private string S2sModules => _s2sAddress == null ? "" : "  mod_s2s_dialback: {}";
}

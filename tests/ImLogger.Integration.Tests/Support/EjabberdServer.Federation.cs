using System.Globalization;

namespace ImLogger.Integration.Tests.Support;

/// <summary>Server-to-server for <see cref="FederatedServers"/>: off unless <see cref="Federate"/> was called.</summary>
internal sealed partial class EjabberdServer
{
    private string? _s2sAddress;
    private int _peerS2sPort;
    private string? _hostsFile;

    /// <summary>The domains it serves: example.test and partner.test, or the other server's own (<see cref="PreparePeer"/>).</summary>
    private string[] Hosts { get; init; } = [ProsodyServer.Domain, ProsodyServer.Partner];

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

    /// <summary>
    /// An ejabberd without ImLogger serving <paramref name="domain"/> (MUC at conference.DOMAIN) as the other server of a
    /// federation test in which ImLogger is attached to Prosody: s2s on <paramref name="s2sAddress"/>:5269 (Prosody dials
    /// 5269 of the address its hosts file names), out to <paramref name="worldS2sPort"/> (Prosody's s2s port). ejabberd
    /// resolves names only through libc (getaddrinfo), so it is started in a private mount namespace of its own (<c>unshare
    /// -rm</c>, no privilege needed where user namespaces are allowed) in which <paramref name="hosts"/> is bind-mounted over
    /// /etc/hosts: the machine's file is untouched and no other process sees the change.
    /// </summary>
    /// <param name="dir">Its own temp dir.</param>
    /// <param name="domain">Its users' domain (a name: Prosody resolves it through its hosts file).</param>
    /// <param name="s2sAddress">Its s2s address (port 5269).</param>
    /// <param name="worldS2sPort">Prosody's s2s port.</param>
    /// <param name="hosts">Lines of its hosts file ("ADDRESS NAME NAME..."): Prosody's names.</param>
    /// <param name="users">Account names at <paramref name="domain"/>.</param>
    public static EjabberdServer PreparePeer(string dir, string domain, string s2sAddress, int worldS2sPort, IEnumerable<string> hosts, params string[] users)
    {
        if (!File.Exists("/usr/sbin/ejabberdctl") || !File.Exists("/usr/bin/erl"))
            Assert.Fail("Debian's ejabberd is not installed: run the test command from the README (./imlogger.sh test), which installs it.");
        if (!File.Exists("/usr/bin/unshare"))
            Assert.Fail("unshare (util-linux) is needed to give the federated ejabberd a hosts file of its own");
        var server = new EjabberdServer(dir, null, [.. users.Select(u => $"{u}@{domain}")]) { Hosts = [domain] };
        server._hostsFile = Path.Combine(dir, "hosts");
        File.WriteAllLines(server._hostsFile, ["127.0.0.1 localhost", .. hosts]);
        Directory.CreateDirectory(server.ModulesDir);
        server.Federate(s2sAddress, worldS2sPort);
        return server;
    }

    /// <summary>The command that starts <paramref name="program"/>: itself, or with a hosts file of its own, inside
    /// <c>unshare -rm</c> (the shell binds the file over /etc/hosts, then execs the program: one process, one pid).</summary>
    private (string Program, string[] Args) WithOwnHostsFile(string program, string[] args) => _hostsFile == null
        ? (program, args)
        : ("/usr/bin/unshare", ["-rm", "/bin/sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", _hostsFile, program, .. args]);

    // A peer's names (example.test, ...) have no SRV record: one quick try, then the A record at outgoing_s2s_port.
    private string S2sOptions => _s2sAddress == null
        ? "s2s_access: none"
        : string.Create(CultureInfo.InvariantCulture, $"s2s_access: all\ns2s_use_starttls: false\noutgoing_s2s_port: {_peerS2sPort}\ns2s_dns_timeout: 2\ns2s_dns_retries: 1");

    private string S2sListener => _s2sAddress == null
        ? ""
        : $"  -\n    port: 5269\n    ip: \"{_s2sAddress}\"\n    module: ejabberd_s2s_in";

    private string S2sModules => _s2sAddress == null ? "" : "  mod_s2s_dialback: {}";
}

using System.Globalization;

namespace ImLogger.Integration.Tests.Support;

/// <summary>Prosody as the other server of a federation test (<see cref="FederatedServers"/>): no ImLogger.</summary>
internal sealed partial class ProsodyServer
{
    private bool _peer;

    /// <summary>
    /// Writes the config and accounts of a Prosody serving <paramref name="domain"/> (an IP literal such as 127.83.4.10)
    /// with a MUC at <paramref name="muc"/> (another IP literal), s2s on both addresses at <paramref name="s2sPort"/>, no
    /// ImLogger module; call <see cref="StartAsync"/> next.
    /// </summary>
    /// <param name="dir">Its own temp dir.</param>
    /// <param name="domain">Its users' domain.</param>
    /// <param name="muc">Its MUC service.</param>
    /// <param name="s2sPort">Its s2s port (ejabberd's <c>outgoing_s2s_port</c>).</param>
    /// <param name="hosts">Lines of a hosts file ("ADDRESS NAME NAME..."): how this Prosody finds the other server's
    /// names without DNS (<c>unbound = { hoststxt = FILE }</c>: libunbound reads it before asking any name server).</param>
    /// <param name="users">Account names at <paramref name="domain"/>.</param>
    public static ProsodyServer PreparePeer(string dir, string domain, string muc, int s2sPort, IEnumerable<string> hosts, params string[] users)
    {
        if (!File.Exists("/usr/bin/prosody"))
            Assert.Fail("Debian's prosody is not installed: run the test command from the README (./imlogger.sh test), which installs it.");
        // No component connects to a peer, so Prosody never opens its component port: StartAsync waits for c2s only.
        var server = new ProsodyServer(dir, include: null) { _peer = true };
        Directory.CreateDirectory(Path.Combine(dir, "certs"));
        var accounts = Path.Combine(dir, "data", domain.Replace(".", "%2e", StringComparison.Ordinal), "accounts");
        Directory.CreateDirectory(accounts);
        foreach (var user in users)
            File.WriteAllText(Path.Combine(accounts, $"{user}.dat"), $"return {{\n\t[\"password\"] = \"{Password}\";\n}};\n");
        var hostsFile = Path.Combine(dir, "hosts");
        File.WriteAllLines(hostsFile, hosts);
        var global = EnableS2s(ImLogger.ServerRules.ProsodySandbox.GlobalSection(dir, server.C2sPort, server.ComponentPort, "debug"), s2sPort, [domain, muc], hostsFile);
        File.WriteAllText(server.ConfigPath, global + string.Create(CultureInfo.InvariantCulture, $$"""

            VirtualHost "{{domain}}"

            Component "{{muc}}" "muc"
            	muc_room_locking = false
            """));
        return server;
    }

    private (string Address, int Port, string HostsFile)? _s2s;

    /// <summary>
    /// Lets this Prosody (the one ImLogger is attached to) federate over loopback with an ejabberd (<see cref="FederatedServers"/>):
    /// s2s on <paramref name="s2sAddress"/>:<paramref name="s2sPort"/>, dialback, no TLS, the other server's names
    /// resolved through <paramref name="hosts"/> (a hosts file of its own, read by libunbound). Call before <see cref="StartAsync"/>.
    /// </summary>
    public void Federate(string s2sAddress, int s2sPort, IEnumerable<string> hosts)
    {
        var hostsFile = Path.Combine(Dir, "hosts");
        File.WriteAllLines(hostsFile, hosts);
        _s2s = (s2sAddress, s2sPort, hostsFile);
        File.WriteAllText(ConfigPath, Config());
    }

    private string WithS2s(string global) => _s2s is not { } s2s ? global : EnableS2s(global, s2s.Port, [s2s.Address], s2s.HostsFile);

    /// <summary>The sandbox's global section disables s2s: enabled, with dialback (XEP-0220). No TLS on loopback:
    /// s2s_require_encryption and s2s_secure_auth off, dialback authenticates. Names through a hosts file of its own.</summary>
    private static string EnableS2s(string global, int s2sPort, IEnumerable<string> interfaces, string hostsFile)
    {
        const string disabled = "modules_disabled = { \"s2s\" }";
        const string enabled = "modules_enabled = { ";
        Assert.That(global, Does.Contain(disabled).And.Contain(enabled), "the sandbox's global section changed: enable s2s for federation another way");
        return global.Replace(disabled, "modules_disabled = {}", StringComparison.Ordinal)
            .Replace(enabled, enabled + "\"dialback\", ", StringComparison.Ordinal) + string.Create(CultureInfo.InvariantCulture, $$"""

            s2s_ports = { {{s2sPort}} }
            s2s_interfaces = { {{string.Join(", ", interfaces.Select(i => $"\"{i}\""))}} }
            s2s_require_encryption = false
            s2s_secure_auth = false
            unbound = { hoststxt = "{{hostsFile}}" }
            """);
    }
}

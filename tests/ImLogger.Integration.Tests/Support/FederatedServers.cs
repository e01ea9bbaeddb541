using System.Net;
using System.Net.Sockets;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// Two real servers federating over loopback: ejabberd serving example.test with ImLogger attached inline (the
/// <see cref="TapDeployment"/> <see cref="World"/>), and a Prosody without ImLogger serving another domain (<see cref="Peer"/>);
/// or the mirror (<see cref="StartWithImLoggerOnProsodyAsync"/>): Prosody with ImLogger, ejabberd the other server.
/// </summary>
/// <remarks>
/// <para>Names without DNS and without touching the machine's /etc/hosts, ImLogger on ejabberd:</para>
/// <list type="bullet">
/// <item>The other server's domain and MUC service are IP literals (127.a.b.c and 127.a.b.c+1, RFC 7622 allows them).
/// ejabberd (p1_xmpp's xmpp_stream_out) skips SRV for an IP literal and dials it at <c>outgoing_s2s_port</c>, Prosody's
/// s2s port. ejabberd resolves names only through libc's getaddrinfo (NSS), which a test cannot redirect short of a mount
/// namespace (the mirror does that), so here the server whose names ejabberd must reach is the one with literal names.</item>
/// <item>Prosody finds example.test, conference.example.test and archive.example.test through a hosts file of its own
/// (<c>unbound = { hoststxt = FILE }</c>, read by libunbound before any name server; the SRV query gets NXDOMAIN and
/// Prosody falls back to the address at port 5269). Prosody 0.12 has no setting for the port of an address record, so
/// ejabberd's s2s listens on port 5269 of an address of its own in 127/8, chosen at random and checked free: tests on
/// other addresses do not meet it.</item>
/// <item>No TLS: on loopback both servers authenticate each other with dialback (XEP-0220), each connecting back to the
/// domain the other claims. Prosody: <c>s2s_require_encryption = false</c>, <c>s2s_secure_auth = false</c>, the
/// <c>dialback</c> module; ejabberd: <c>s2s_use_starttls: false</c>, <c>mod_s2s_dialback</c>.</item>
/// </list>
/// <para>The mirror, ImLogger on Prosody (example.test at a random 127.a.b.c, s2s on a free port there) and ejabberd
/// serving elsewhere.test and conference.elsewhere.test (s2s on 5269 of another random 127.x address):</para>
/// <list type="bullet">
/// <item>Prosody finds elsewhere.test and conference.elsewhere.test through its hosts file (hoststxt, as above) and dials
/// port 5269 there.</item>
/// <item>ejabberd finds example.test, conference.example.test, archive.example.test and partner.test through a hosts file
/// bind-mounted over /etc/hosts in a mount namespace of its own (<c>unshare -rm</c>: only that process sees it; libc's
/// getaddrinfo reads it), and dials <c>outgoing_s2s_port</c>, Prosody's s2s port (their SRV queries get no answer:
/// <c>s2s_dns_timeout</c> is short).</item>
/// <item>Dialback without TLS, as above, each server connecting back to the domain the other claims (ImLogger's notices
/// come from archive.example.test: Prosody answers dialback for its components too).</item>
/// </list>
/// </remarks>
internal sealed class FederatedServers : IAsyncDisposable
{
    private FederatedServers(TapDeployment world, IXmppServer peer, string peerDomain, string peerMuc)
    {
        World = world;
        Peer = peer;
        PeerDomain = peerDomain;
        PeerMuc = peerMuc;
    }

    /// <summary>The server with ImLogger (example.test, conference.example.test, archive.example.test).</summary>
    public TapDeployment World { get; }

    /// <summary>The other server, without ImLogger.</summary>
    public IXmppServer Peer { get; }

    /// <summary>The other server's domain (an IP literal for Prosody, elsewhere.test for ejabberd).</summary>
    public string PeerDomain { get; }

    /// <summary>The other server's MUC service (an IP literal for Prosody, conference.elsewhere.test for ejabberd).</summary>
    public string PeerMuc { get; }

    /// <summary>A user of the other server.</summary>
    public string PeerJid(string node) => $"{node}@{PeerDomain}";

    /// <summary>Starts both servers; <paramref name="attach"/> and <paramref name="logged"/> as for <c>TapDeployment.StartAsync</c>.</summary>
    public static async Task<FederatedServers> StartAsync(string attach, string[] logged, params string[] peerUsers)
    {
        var peerS2sPort = Paths.FreePort();
        var ejabberdS2s = FreeLoopbackAddresses(5269, 1)[0];
        var peerAddresses = FreeLoopbackAddresses(peerS2sPort, 2);
        var peerDir = Paths.TempDir("imlogger-peer-");
        ProsodyServer? peer = null;
        TapDeployment? world = null;
        try
        {
            peer = ProsodyServer.PreparePeer(peerDir, peerAddresses[0], peerAddresses[1], peerS2sPort,
                [$"{ejabberdS2s} {ProsodyServer.Domain} {ProsodyServer.Muc} archive.{ProsodyServer.Domain} {ProsodyServer.Partner}"], peerUsers);
            world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged, null, attach: attach, server: "ejabberd",
                beforeStart: server => ((EjabberdServer)server).Federate(ejabberdS2s, peerS2sPort));
            await peer.StartAsync();
            return new FederatedServers(world, peer, peerAddresses[0], peerAddresses[1]);
        }
        catch
        {
            if (world != null) await world.DisposeAsync();
            if (peer != null) await peer.DisposeAsync();
            throw;
        }
    }

    /// <summary>The mirror: ImLogger attached to Prosody (example.test), an ejabberd without ImLogger serving
    /// elsewhere.test with <paramref name="peerUsers"/>; <paramref name="attach"/> and <paramref name="logged"/> as for
    /// <c>TapDeployment.StartAsync</c>.</summary>
    public static async Task<FederatedServers> StartWithImLoggerOnProsodyAsync(string attach, string[] logged, params string[] peerUsers)
    {
        const string peerDomain = "elsewhere.test", peerMuc = "conference." + peerDomain;
        var worldS2sPort = Paths.FreePort();
        var worldS2s = FreeLoopbackAddresses(worldS2sPort, 1)[0];
        var peerS2s = FreeLoopbackAddresses(5269, 1)[0];
        var peerDir = Paths.TempDir("imlogger-peer-");
        EjabberdServer? peer = null;
        TapDeployment? world = null;
        try
        {
            peer = EjabberdServer.PreparePeer(peerDir, peerDomain, peerS2s, worldS2sPort,
                [$"{worldS2s} {ProsodyServer.Domain} {ProsodyServer.Muc} archive.{ProsodyServer.Domain} {ProsodyServer.Partner}"], peerUsers);
            world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged, null, attach: attach,
                beforeStart: server => ((ProsodyServer)server).Federate(worldS2s, worldS2sPort, [$"{peerS2s} {peerDomain} {peerMuc}"]));
            await peer.StartAsync();
            return new FederatedServers(world, peer, peerDomain, peerMuc);
        }
        catch
        {
            if (world != null) await world.DisposeAsync();
            if (peer != null) await peer.DisposeAsync();
            throw;
        }
    }

    /// <summary><paramref name="count"/> consecutive addresses 127.x.y.z (z from 10) on which <paramref name="port"/> can be
    /// bound now (bound and released, like <see cref="Paths.FreePort"/>); random, so parallel tests pick different ones.</summary>
    private static string[] FreeLoopbackAddresses(int port, int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var (b, c, d) = ((byte)Random.Shared.Next(64, 255), (byte)Random.Shared.Next(1, 255), Random.Shared.Next(10, 200));
            var addresses = Enumerable.Range(0, count).Select(i => new IPAddress(new byte[] { 127, b, c, (byte)(d + i) })).ToArray();
            if (addresses.All(a => CanBind(a, port))) return addresses.Select(a => a.ToString()).ToArray();
        }
        Assert.Fail($"no free loopback address for port {port} after 50 random tries in 127.64-254.x.x");
        return [];
    }

    private static bool CanBind(IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Peer.DisposeAsync();
        await World.DisposeAsync();
        if (TestContext.CurrentContext.Result.Outcome.Status != NUnit.Framework.Interfaces.TestStatus.Failed)
            Directory.Delete(Peer.Dir, recursive: true);
    }
}

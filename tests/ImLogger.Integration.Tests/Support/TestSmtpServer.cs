using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// A real SMTP server (the SmtpServer package) on a loopback TCP port: STARTTLS with a certificate from a test CA (or
/// implicit TLS, or none to test a refused STARTTLS), AUTH required over TLS, every accepted message kept as raw bytes.
/// Can be stopped and started again on the same port (outage tests). With <see cref="SizeLimit"/> it behaves as Postfix
/// with <c>message_size_limit</c>: SIZE in the EHLO reply, 552 to a MAIL FROM whose SIZE= is larger, and 552 5.3.4 to
/// data larger than the limit (what a client that ignores SIZE, or a server that does not announce it, meets).
/// </summary>
internal sealed class TestSmtpServer : IAsyncDisposable
{
    public const string User = "archiver";
    public const string Password = "correct horse battery staple";

    private readonly X509Certificate2? _certificate;
    private readonly bool _implicitTls;
    private readonly ConcurrentQueue<byte[]> _received = new();
    private CancellationTokenSource? _stop;
    private SmtpServer.SmtpServer? _server;
    private Task? _running;

    /// <param name="certificate">Server certificate; null: no TLS offered at all (no STARTTLS in EHLO).</param>
    /// <param name="implicitTls">TLS from the first byte (port-465 style) instead of STARTTLS.</param>
    public TestSmtpServer(X509Certificate2? certificate, bool implicitTls = false)
    {
        _certificate = certificate;
        _implicitTls = implicitTls;
        Port = Paths.FreePort();
    }

    public int Port { get; }

    /// <summary>Called with each message after it is stored and before the server answers 250 (a test can hold the reply).</summary>
    public Func<byte[], CancellationToken, Task>? BeforeReply { get; set; }

    /// <summary>When set, DATA is answered with this reply instead of 250 (and the message is not kept).</summary>
    public SmtpResponse? RejectWith { get; set; }

    /// <summary>Largest message accepted, in bytes (read at start); null: no limit.</summary>
    public int? SizeLimit { get; set; }

    /// <summary>Whether EHLO announces <see cref="SizeLimit"/> (false: the limit is enforced at DATA only, as by a server
    /// whose SIZE is unknown or was lowered after the client connected).</summary>
    public bool AnnounceSize { get; set; } = true;

    /// <summary>Messages refused with 552 for size at DATA.</summary>
    public int RefusedForSize;

    /// <summary>Successful AUTH count (a test can see that authentication really happened).</summary>
    public int Logins;

    public IReadOnlyList<byte[]> Raw => _received.ToArray();

    private readonly ConcurrentQueue<List<string>> _envelopes = new();

    /// <summary>The envelope recipients (RCPT TO) of each message received, in order: where it was delivered, whatever its
    /// To header says.</summary>
    public IReadOnlyList<List<string>> Envelopes => _envelopes.ToArray();

    public IReadOnlyList<MimeMessage> Messages => _received.Select(b => MimeMessage.Load(new MemoryStream(b))).ToList();

    public static async Task<TestSmtpServer> StartAsync(X509Certificate2? certificate, bool implicitTls = false)
    {
        var server = new TestSmtpServer(certificate, implicitTls);
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        if (_running is not null) throw new InvalidOperationException("already running");
        var builder = new SmtpServerOptionsBuilder();
        // Ignore: announce SIZE and check MAIL FROM's SIZE=, without closing the session (the data is checked in Store).
        if (SizeLimit is { } limit && AnnounceSize) builder.MaxMessageSize(limit, MaxMessageSizeHandling.Ignore);
        var options = builder
            .ServerName("localhost")
            .Endpoint(b =>
            {
                b.Endpoint(new IPEndPoint(IPAddress.Loopback, Port));
                if (_certificate is not null) b.Certificate(_certificate);
                b.IsSecure(_implicitTls);
                b.AllowUnsecureAuthentication(_certificate is null);
                b.AuthenticationRequired(true);
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(this));
        services.Add(new Authenticator(this));
        _stop = new CancellationTokenSource();
        _server = new SmtpServer.SmtpServer(options, services);
        _running = _server.StartAsync(_stop.Token);
        // Listening starts asynchronously: wait until the port answers.
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new InvalidOperationException($"the test SMTP server did not listen on port {Port}");
    }

    public async Task StopAsync()
    {
        if (_running is null) return;
        _server!.Shutdown();
        await _stop!.CancelAsync();
        try { await _running.WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (OperationCanceledException) { }
        try { await _server.ShutdownTask.WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException) { }
        _stop.Dispose();
        _running = null;
        _server = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private sealed class Store(TestSmtpServer owner) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            if (owner.RejectWith is { } reject) return reject;
            if (owner.SizeLimit is { } limit && buffer.Length > limit)
            {
                Interlocked.Increment(ref owner.RefusedForSize);
                return new SmtpResponse(SmtpReplyCode.SizeLimitExceeded, "5.3.4 Message size exceeds fixed limit");
            }
            var bytes = buffer.ToArray();
            owner._envelopes.Enqueue(transaction.To.Select(m => m.User + "@" + m.Host).ToList());
            owner._received.Enqueue(bytes);
            if (owner.BeforeReply is { } hold) await hold(bytes, cancellationToken);
            return SmtpResponse.Ok;
        }
    }

    private sealed class Authenticator(TestSmtpServer owner) : UserAuthenticator
    {
        public override Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken cancellationToken)
        {
            var ok = user == User && password == Password;
            if (ok) Interlocked.Increment(ref owner.Logins);
            return Task.FromResult(ok);
        }
    }
}

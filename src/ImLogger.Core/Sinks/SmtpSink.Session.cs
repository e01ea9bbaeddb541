using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ImLogger.Config;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace ImLogger.Sinks;

/// <summary>The bounded SMTP session: ImLogger opens the TCP connection itself and hands MailKit a stream whose reads and
/// writes time out (<see cref="SmtpSessionStream"/>), under a deadline per step (<see cref="SmtpDeadline"/>), with every
/// reply watched for its size (<see cref="SmtpSessionGuard"/>).</summary>
public abstract partial class SmtpSink
{
    /// <summary>Header on a message sent again after an attempt whose outcome was unknown (the server may have accepted it).
    /// The Message-ID stays the same, so an archive that deduplicates keeps one copy; a reader of two copies sees why.</summary>
    public const string ResentHeader = "X-ImLogger-Resent";

    /// <summary>The value of <see cref="ResentHeader"/>.</summary>
    public const string ResentValue = "a previous attempt's outcome was unknown (no reply to the end of DATA); this message may already be in the archive under the same Message-ID";

    private SmtpClient CreateClient(SmtpServerCertificateCheck check, SmtpSessionGuard guard) => new(guard)
    {
        Timeout = (int)Math.Clamp(Config.Timeout.TotalMilliseconds, 1000, int.MaxValue),
        ServerCertificateValidationCallback = check.Validate,
        CheckCertificateRevocation = false,
    };

    private SecureSocketOptions SocketOptions => Config.Tls switch
    {
        SmtpTlsMode.Implicit => SecureSocketOptions.SslOnConnect,
        // StartTls (not StartTlsWhenAvailable): MailKit fails when the server does not offer STARTTLS, so a stripped
        // EHLO reply can never downgrade the session to plain text.
        SmtpTlsMode.StartTls => SecureSocketOptions.StartTls,
        _ => SecureSocketOptions.None,
    };

    /// <summary>Connects (each address of the host in turn, each within <c>timeout</c>), then lets MailKit read the
    /// greeting, say EHLO and start TLS over the bounded stream.</summary>
    private async Task ConnectAsync(SmtpClient client, SmtpDeadline deadline)
    {
        var addresses = IPAddress.TryParse(Config.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(Config.Host, deadline.Token).ConfigureAwait(false);
        SocketException? last = null;
        Socket? connected = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            limit.CancelAfter(Config.Timeout);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, Config.Port), limit.Token).ConfigureAwait(false);
                connected = socket;
                break;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch (OperationCanceledException) when (!deadline.Token.IsCancellationRequested)
            {
                socket.Dispose();
                last = new SocketException((int)SocketError.TimedOut);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        if (connected is null) throw last ?? new SocketException((int)SocketError.HostNotFound);
        var stream = new SmtpSessionStream(connected, Config.Timeout);
        deadline.Attach(stream);
        await client.ConnectAsync(stream, Config.Host, Config.Port, SocketOptions, deadline.Token).ConfigureAwait(false);
    }

    /// <summary>The failure a bounded session ended in, when it was the bounds (null: classify as usual).</summary>
    private SinkException? Bounded(string where, Exception ex, SmtpSessionGuard guard, SmtpDeadline deadline)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SmtpBoundException bound)
                return new SinkException($"{where}: {bound.Message}. The server (or something on the path to it) misbehaves; " +
                                         "transcripts wait in the spool and are retried with backoff.", true, ex);
        }
        if (!deadline.Fired) return null;
        var seconds = deadline.Budget.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
        return new SinkException($"{where}: the delivery took longer than the {seconds} s deadline while waiting for {guard.Waiting} " +
                                 $"({guard.ReplyBytesSoFar} bytes of it received); ImLogger closed the connection. The server stalls or is very slow; " +
                                 "if it is merely slow, raise the endpoint's deadline=\"...\".", true, ex);
    }

    /// <summary>A failure while the server had a whole message but had not answered it: it may have accepted it.</summary>
    private SinkException Unknown(string where, SinkException failure) =>
        new($"{where}: the server had the whole message but its reply to the end of DATA never came " +
            $"({(failure.Message.StartsWith(where + ": ", StringComparison.Ordinal) ? failure.Message[(where.Length + 2)..] : failure.Message)}). It may have accepted the message: a copy may already be in the archive. " +
            "The next attempt waits minutes, not seconds, and marks the message as resent (same Message-ID).", true, failure.InnerException)
        {
            OutcomeUnknown = true,
        };
}

/// <summary>
/// The deadline of one step of an SMTP delivery (connecting, then each message to its final reply): cancels what MailKit
/// does and aborts the connection when it passes, however slowly the server answers each read.
/// </summary>
internal sealed class SmtpDeadline : IDisposable
{
    private readonly SmtpEndpointConfig _config;
    private readonly CancellationToken _outer;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationTokenRegistration _abort;
    private SmtpSessionStream? _stream;

    public SmtpDeadline(SmtpEndpointConfig config, CancellationToken outer)
    {
        _config = config;
        _outer = outer;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        Restart(0);
        _abort = _cts.Token.Register(() => Volatile.Read(ref _stream)?.Abort());
    }

    /// <summary>Cancelled when the deadline passes or the caller cancels.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>The current step's deadline.</summary>
    public TimeSpan Budget { get; private set; }

    /// <summary>The deadline passed (not the caller's cancellation).</summary>
    public bool Fired => _cts.IsCancellationRequested && !_outer.IsCancellationRequested;

    /// <summary>Starts a step that sends <paramref name="messageBytes"/> (0: none) with its own deadline from now.</summary>
    public void Restart(long messageBytes)
    {
        Budget = _config.DeadlineFor(messageBytes);
        if (!_cts.IsCancellationRequested) _cts.CancelAfter(Budget);
    }

    /// <summary>The connection to abort when the deadline passes.</summary>
    public void Attach(SmtpSessionStream stream)
    {
        Volatile.Write(ref _stream, stream);
        if (_cts.IsCancellationRequested) stream.Abort();
    }

    public void Dispose()
    {
        _abort.Dispose();
        _cts.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// A scripted SMTP server on a loopback TCP port that misbehaves on purpose: each connection runs the test's script
/// (endless or huge replies, lines without an end, a trickle, a late or missing reply after DATA). It counts what it
/// managed to write (bytes accepted by the socket: what the client read plus what sits in socket buffers), so a test can
/// show the client stopped reading, and keeps every message whose data it received in full.
/// </summary>
public sealed class MisbehavingSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Session, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _sessions = [];
    private readonly Task _accepting;
    private long _written;

    public MisbehavingSmtpServer(Func<Session, Task> script)
    {
        _script = script;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes the server's writes handed to the socket, all sessions together.</summary>
    public long BytesWritten => Interlocked.Read(ref _written);

    /// <summary>Connections accepted.</summary>
    public int Connections;

    /// <summary>Messages whose data the server received in full (up to the final "."), as text, in order.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>What the scripts failed with other than the client going away (a broken script shows here).</summary>
    public ConcurrentQueue<Exception> ScriptErrors { get; } = new();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            Interlocked.Increment(ref Connections);
            // A small send buffer keeps what piles up in the kernel, beyond what the client reads, small and known.
            socket.SendBufferSize = 64 * 1024;
            var session = new Session(this, socket, _stop.Token);
            lock (_sessions) _sessions.Add(Task.Run(() => RunAsync(session)));
        }
    }

    private async Task RunAsync(Session session)
    {
        try
        {
            await _script(session);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException)
        {
            // the client went away (what these tests expect of it), or the test ended
        }
        catch (Exception e)
        {
            ScriptErrors.Enqueue(e);
        }
        finally
        {
            session.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] sessions;
        lock (_sessions) sessions = [.. _sessions];
        await Task.WhenAll(sessions).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    /// <summary>One connection, as a script sees it.</summary>
    public sealed class Session(MisbehavingSmtpServer server, Socket socket, CancellationToken stop) : IDisposable
    {
        private Stream _stream = new NetworkStream(socket, ownsSocket: true);

        public CancellationToken Stopping => stop;

        public MisbehavingSmtpServer Server => server;

        public async Task WriteAsync(string text) => await WriteAsync(Encoding.ASCII.GetBytes(text));

        public async Task WriteAsync(byte[] bytes)
        {
            await _stream.WriteAsync(bytes, stop);
            await _stream.FlushAsync(stop);
            Interlocked.Add(ref server._written, bytes.Length);
        }

        /// <summary>Writes <paramref name="chunk"/> again and again, up to <paramref name="total"/> bytes (null: until the
        /// client goes away).</summary>
        public async Task FloodAsync(byte[] chunk, long? total = null)
        {
            for (long sent = 0; total is not { } t || sent < t; sent += chunk.Length) await WriteAsync(chunk);
        }

        /// <summary>Writes <paramref name="text"/> one byte at a time, <paramref name="interval"/> apart.</summary>
        public async Task TrickleAsync(string text, TimeSpan interval)
        {
            foreach (var b in Encoding.ASCII.GetBytes(text))
            {
                await WriteAsync([b]);
                await Task.Delay(interval, stop);
            }
        }

        /// <summary>Reads one command line (without CRLF); null when the client closed the connection.</summary>
        public async Task<string?> ReadLineAsync()
        {
            var line = new StringBuilder();
            var one = new byte[1];
            while (true)
            {
                if (await _stream.ReadAsync(one, stop) == 0) return null;
                if (one[0] == '\n') return line.ToString().TrimEnd('\r');
                if (line.Length > 4096) throw new InvalidDataException("client line too long");
                line.Append((char)one[0]);
            }
        }

        /// <summary>Reads the message data after a 354, up to and without the final ".", and keeps it as received.</summary>
        public async Task<string> ReadDataAsync()
        {
            var data = new StringBuilder();
            while (await ReadLineAsync() is { } line)
            {
                if (line == ".")
                {
                    server.Received.Enqueue(data.ToString());
                    return data.ToString();
                }
                data.Append(line.StartsWith("..", StringComparison.Ordinal) ? line[1..] : line).Append("\r\n");
            }
            throw new EndOfStreamException("the client closed the connection in the middle of DATA");
        }

        /// <summary>A well-behaved session up to the end of the data: greeting, EHLO, (STARTTLS with
        /// <paramref name="certificate"/>), MAIL, RCPT, DATA, the message. The caller decides what the final reply is.</summary>
        public async Task UpToEndOfDataAsync(X509Certificate2? certificate = null)
        {
            await WriteAsync("220 scripted.example ESMTP\r\n");
            while (await ReadLineAsync() is { } command)
            {
                var verb = command.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await WriteAsync(certificate is null || _stream is SslStream ? "250-scripted.example\r\n250 8BITMIME\r\n" : "250-scripted.example\r\n250 STARTTLS\r\n");
                        break;
                    case "STARTTLS":
                        await WriteAsync("220 go ahead\r\n");
                        await StartTlsAsync(certificate!);
                        break;
                    case "MAIL":
                    case "RCPT":
                        await WriteAsync("250 ok\r\n");
                        break;
                    case "DATA":
                        await WriteAsync("354 go ahead\r\n");
                        await ReadDataAsync();
                        return;
                    case "QUIT":
                        await WriteAsync("221 bye\r\n");
                        return;
                    default:
                        await WriteAsync("502 not here\r\n");
                        break;
                }
            }
            throw new EndOfStreamException("the client closed the connection before DATA");
        }

        /// <summary>Answers the rest of a session normally (250 to the end of data, then QUIT).</summary>
        public async Task FinishAsync()
        {
            await WriteAsync("250 2.0.0 queued\r\n");
            while (await ReadLineAsync() is { } command)
            {
                if (command.StartsWith("QUIT", StringComparison.OrdinalIgnoreCase))
                {
                    await WriteAsync("221 bye\r\n");
                    return;
                }
                await WriteAsync("250 ok\r\n");
            }
        }

        public async Task StartTlsAsync(X509Certificate2 certificate)
        {
            var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, stop);
            _stream = tls;
        }

        /// <summary>Closes the connection without a word.</summary>
        public void Drop() => _stream.Dispose();

        public void Dispose() => _stream.Dispose();
    }
}

using System.Globalization;
using System.Net.Sockets;

namespace ImLogger.Sinks;

/// <summary>
/// The TCP connection under an SMTP session (MailKit, and TLS inside MailKit, read and write through it): each read and
/// write must finish within the endpoint's <c>timeout</c>, and <see cref="Abort"/> (the delivery's deadline) ends whatever
/// is in progress at once, however the library above waits.
/// </summary>
/// <remarks>MailKit's own timeout only applies to the connections it opens itself; a connection handed to it as a stream
/// gets none for asynchronous reads, so the per-operation timeout lives here.</remarks>
internal sealed class SmtpSessionStream(Socket socket, TimeSpan timeout) : Stream
{
    private readonly NetworkStream _inner = new(socket, ownsSocket: true);
    private long _read;

    /// <summary>Bytes read from the server so far (TLS records included).</summary>
    public long BytesRead => Interlocked.Read(ref _read);

    /// <summary>Ends the connection now: every pending and later read or write fails.</summary>
    public void Abort()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override bool CanTimeout => true;
    public override int ReadTimeout { get => _inner.ReadTimeout; set => _inner.ReadTimeout = value; }
    public override int WriteTimeout { get => _inner.WriteTimeout; set => _inner.WriteTimeout = value; }
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = _inner.Read(buffer, offset, count);
        Interlocked.Add(ref _read, n);
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            var n = await _inner.ReadAsync(buffer, limit.Token).ConfigureAwait(false);
            Interlocked.Add(ref _read, n);
            return n;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"the server sent nothing for {timeout.TotalSeconds:0.#} s (timeout)"));
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _inner.WriteAsync(buffer, limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"the server took nothing for {timeout.TotalSeconds:0.#} s (timeout)"));
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}

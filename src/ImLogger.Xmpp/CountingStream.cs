namespace ImLogger.Xmpp;

/// <summary>
/// Read-only wrapper that counts bytes received for the current top-level stanza and fails the read as soon as
/// the count exceeds the cap, so an oversized stanza is never buffered whole. It also supplies the cancellation
/// token to the inner reads, because <see cref="System.Xml.XmlReader"/> has no way to pass one.
/// </summary>
internal sealed class CountingStream(Stream inner, long maxStanzaBytes) : Stream
{
    private long _stanzaBytes;
    // The stream header counts as a "stanza" too: a hostile server must not make us buffer a huge header.
    private bool _inStanza = true;

    /// <summary>Token applied to every read of the inner stream.</summary>
    public CancellationToken ReadToken { get; set; }

    /// <summary>True once the inner stream reported end of stream (the peer closed the socket).</summary>
    public bool EndOfStreamReached { get; private set; }

    /// <summary>Bytes counted towards the current stanza.</summary>
    public long StanzaBytes => _stanzaBytes;

    /// <summary>Starts enforcing the cap; bytes read since the previous stanza ended count towards it.</summary>
    public void BeginStanza()
    {
        _inStanza = true;
        Check();
    }

    /// <summary>Stops enforcing and resets the count. Bytes of the next stanza already buffered by the parser are
    /// not counted; that slack is one parser buffer, which the cap tolerates.</summary>
    public void EndStanza()
    {
        _inStanza = false;
        _stanzaBytes = 0;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, ReadToken).ConfigureAwait(false);
        return Count(read);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    private int Count(int read)
    {
        if (read == 0)
            EndOfStreamReached = true;
        _stanzaBytes += read;
        Check();
        return read;
    }

    private void Check()
    {
        if (_inStanza && _stanzaBytes > maxStanzaBytes)
            throw new StanzaTooLargeException(maxStanzaBytes);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

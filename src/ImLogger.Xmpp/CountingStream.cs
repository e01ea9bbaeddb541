namespace ImLogger.Xmpp;

/// <summary>
/// Read-only wrapper that measures the raw stream for the reader's limits: the bytes of the current top-level stanza
/// (the soft, per-stanza limit, which the reader enforces by skipping) and the bytes pulled since the parser last
/// produced a node (the hard, per-token limit, enforced here by failing the read, which ends the connection). It also
/// supplies the cancellation token to the inner reads, because <see cref="System.Xml.XmlReader"/> has no way to pass one.
/// </summary>
/// <remarks>Each inner read asks for at most <see cref="MaxRead"/> bytes, so the parser never reads far ahead: a
/// stanza's count is exact to within one such read (what the parser already held of the next stanza, or pulled of it).</remarks>
internal sealed class CountingStream(Stream inner, long maxTokenBytes) : Stream
{
    /// <summary>The largest single read from the inner stream, which bounds how far the parser reads ahead.</summary>
    public const int MaxRead = 4096;

    private long _stanzaBytes;
    private long _tokenBytes;

    /// <summary>Token applied to every read of the inner stream.</summary>
    public CancellationToken ReadToken { get; set; }

    /// <summary>After a read that found the inner stream drained (fewer bytes than asked for), the next read waits this long
    /// first (<see cref="ComponentConnectionOptions.ReadPause"/>); zero reads at once. A read that filled its buffer is
    /// followed at once: more is waiting.</summary>
    public TimeSpan ReadPause { get; set; }

    /// <summary>The clock of <see cref="ReadPause"/>.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    private bool _pauseBeforeRead;

    /// <summary>True once the inner stream reported end of stream (the peer closed the socket).</summary>
    public bool EndOfStreamReached { get; private set; }

    /// <summary>Bytes counted towards the current stanza.</summary>
    public long StanzaBytes => _stanzaBytes;

    /// <summary>Resets the stanza count: bytes read from now on count towards the next stanza. Bytes of the next stanza already buffered by the parser are not counted;
    /// that slack is at most one read of <see cref="MaxRead"/> bytes.</summary>
    public void EndStanza() => _stanzaBytes = 0;

    /// <summary>The parser produced a node (or a chunk of a text value): the hard per-token count starts over.</summary>
    public void MarkToken() => _tokenBytes = 0;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_pauseBeforeRead)
        {
            // The stream was drained: what the server sends meanwhile gathers in the socket and is read, parsed and
            // stored in one go rather than a few stanzas at a time (tap mode: nobody waits on a copy).
            _pauseBeforeRead = false;
            await Task.Delay(ReadPause, Time, ReadToken).ConfigureAwait(false);
        }
        var asked = Math.Min(buffer.Length, MaxRead);
        var read = await inner.ReadAsync(buffer[..asked], ReadToken).ConfigureAwait(false);
        _pauseBeforeRead = read > 0 && read < asked && ReadPause > TimeSpan.Zero;
        return Count(read);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, Math.Min(count, MaxRead)));

    private int Count(int read)
    {
        if (read == 0)
            EndOfStreamReached = true;
        _stanzaBytes += read;
        _tokenBytes += read;
        // A single start tag (its attributes) or a comment must be buffered whole by the parser: past this, only a
        // broken or hostile server is talking, and dropping the connection is the one way to bound the memory.
        if (_tokenBytes > maxTokenBytes)
            throw new TokenTooLargeException(maxTokenBytes);
        return read;
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

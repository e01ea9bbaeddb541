using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Xmpp.Tests;

/// <summary>The read pause of tap mode (<see cref="ComponentConnectionOptions.ReadPause"/>): a read that drained the socket
/// makes the next one wait, a full read never does, and a stop ends the wait.</summary>
public class CountingStreamPauseTests
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    /// <summary>Returns the scripted chunks one read at a time (each at most what the read asks for), then waits forever.</summary>
    private sealed class Chunks(params int[] sizes) : Stream
    {
        private readonly Queue<int> _sizes = new(sizes);
        public int Reads { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads++;
            if (_sizes.Count == 0) await Task.Delay(Timeout.Infinite, cancellationToken);
            var n = Math.Min(buffer.Length, _sizes.Dequeue());
            buffer.Span[..n].Fill((byte)'x');
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
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

    [Test]
    [CancelAfter(5_000)]
    public async Task AReadThatDrainedTheStream_MakesTheNextWaitThePause()
    {
        var time = new FakeTimeProvider();
        var inner = new Chunks(10, 20);
        var counting = new CountingStream(inner, 1_000_000) { ReadPause = Pause, Time = time };
        var buffer = new byte[CountingStream.MaxRead];
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(10));

        var next = counting.ReadAsync(buffer).AsTask();
        time.Advance(Pause - TimeSpan.FromMilliseconds(1));
        await Task.Yield();
        Assert.That(next.IsCompleted, Is.False, "the stream was drained: the next read waits the pause");
        Assert.That(inner.Reads, Is.EqualTo(1), "the socket is not even asked before the pause ends");
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(await next, Is.EqualTo(20));
        Assert.That(counting.StanzaBytes, Is.EqualTo(30), "the pause changes nothing of the counts");
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task AReadThatFilledItsBuffer_IsFollowedAtOnce_MoreIsWaiting()
    {
        var time = new FakeTimeProvider();
        var counting = new CountingStream(new Chunks(CountingStream.MaxRead, CountingStream.MaxRead, 7), 1_000_000) { ReadPause = Pause, Time = time };
        var buffer = new byte[CountingStream.MaxRead];
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(CountingStream.MaxRead));
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(CountingStream.MaxRead), "no pause while the reads come back full (the clock never moved)");
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(7));
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task WithoutAPause_ReadsNeverWait()
    {
        var counting = new CountingStream(new Chunks(1, 1, 1), 1_000_000) { Time = new FakeTimeProvider() };
        var buffer = new byte[CountingStream.MaxRead];
        for (var i = 0; i < 3; i++) Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1), "inline mode: the clock never moves and every read is served");
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task AStopDuringThePause_EndsTheRead_WithoutTakingFromTheSocket()
    {
        using var stop = new CancellationTokenSource();
        var inner = new Chunks(3, 4);
        var counting = new CountingStream(inner, 1_000_000) { ReadPause = TimeSpan.FromHours(1), Time = new FakeTimeProvider(), ReadToken = stop.Token };
        var buffer = new byte[CountingStream.MaxRead];
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(3));
        var next = counting.ReadAsync(buffer).AsTask();
        await stop.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(async () => await next);
        Assert.That(inner.Reads, Is.EqualTo(1), "the 4 bytes still wait in the socket for whoever reads next");
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task TheEndOfTheStream_IsReportedWithoutAPauseAfterIt()
    {
        var time = new FakeTimeProvider();
        var counting = new CountingStream(new Chunks(CountingStream.MaxRead, 0), 1_000_000) { ReadPause = Pause, Time = time };
        var buffer = new byte[CountingStream.MaxRead];
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(CountingStream.MaxRead));
        Assert.That(await counting.ReadAsync(buffer), Is.Zero, "a full read before it: no pause, the close is seen at once");
        Assert.That(counting.EndOfStreamReached, Is.True);
    }
}

using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Ingest;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Ingest;

/// <summary>
/// The server's side of the ingest loop's port, scripted: what the test puts in <see cref="Incoming"/> is read in
/// order; a stop drains what is already there (as the component connection reads what the server still sends) and
/// then ends with <see cref="OperationCanceledException"/>. What the loop sends is kept in order in <see cref="Sent"/>.
/// </summary>
internal sealed class FakeStanzaConnection : IStanzaConnection
{
    private int _read;

    public Channel<XElement> Incoming { get; } = Channel.CreateUnbounded<XElement>();
    public ConcurrentQueue<XElement> Sent { get; } = new();
    public volatile bool Connected = true;
    public int Read => Volatile.Read(ref _read);

    public async Task RunAsync(Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken stop)
    {
        try
        {
            while (await Incoming.Reader.WaitToReadAsync(stop))
                while (!stop.IsCancellationRequested && Incoming.Reader.TryRead(out var s)) await Deliver(onStanza, s, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        while (Incoming.Reader.TryRead(out var s)) await Deliver(onStanza, s, CancellationToken.None);
        throw new OperationCanceledException(stop);
    }

    private async ValueTask Deliver(Func<XElement, CancellationToken, ValueTask> onStanza, XElement s, CancellationToken token)
    {
        await onStanza(s, token);
        Interlocked.Increment(ref _read);
    }

    public ValueTask<bool> TrySendAsync(XElement stanza, CancellationToken token)
    {
        if (!Connected) return ValueTask.FromResult(false);
        Sent.Enqueue(stanza);
        return ValueTask.FromResult(true);
    }
}

/// <summary>The real stanza pipeline with a hand on its store: it can fail (a disk that is full) or wait for the test
/// (a store in progress), and it remembers each batch it was given.</summary>
internal sealed class WatchedStages(IIngestStages real) : IIngestStages
{
    private int _failuresLeft;
    private int _failures;
    private int _stores;

    public ConcurrentQueue<int> Batches { get; } = new();
    public SemaphoreSlim? Gate { get; set; }
    public TaskCompletionSource StoreEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public int Failures => Volatile.Read(ref _failures);
    public Func<IReadOnlyList<XElement>, Exception?>? ClassifyFault { get; set; }

    public void FailNextStores(int count) => Volatile.Write(ref _failuresLeft, count);

    public (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Replies) Classify(IReadOnlyList<XElement> stanzas)
    {
        if (ClassifyFault?.Invoke(stanzas) is { } fault) throw fault;
        Batches.Enqueue(stanzas.Count);
        return real.Classify(stanzas);
    }

    public IReadOnlyList<string> Store(IReadOnlyList<ConversationEvent> events)
    {
        StoreEntered.TrySetResult();
        Gate?.Wait(TimeSpan.FromSeconds(30));
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            Interlocked.Increment(ref _failures);
            throw new IOException("No space left on device");
        }
        var closed = real.Store(events);
        Interlocked.Increment(ref _stores);
        return closed;
    }

    public IReadOnlyList<ConversationEvent> Sent(IReadOnlyList<(XElement Reply, string? Failure)> replies) => real.Sent(replies);

    /// <summary>Batches stored.</summary>
    public int Stores => Volatile.Read(ref _stores);

    public long SpooledCount => real.SpooledCount;
}

/// <summary>A fake clock that says when a timer was asked for (the loop's linger, retry and stop waits), so a test
/// moves time only once the loop waits on it.</summary>
internal sealed class WatchedClock(DateTimeOffset start) : TimeProvider
{
    private readonly FakeTimeProvider _inner = new(start);
    private int _timers;

    public int Timers => Volatile.Read(ref _timers);
    public void Advance(TimeSpan delta) => _inner.Advance(delta);
    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow();
    public override long GetTimestamp() => _inner.GetTimestamp();
    public override long TimestampFrequency => _inner.TimestampFrequency;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _timers);
        return _inner.CreateTimer(callback, state, dueTime, period);
    }
}

/// <summary>Keeps every log line, to assert on what the operator reads.</summary>
internal sealed class LinesLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>Waits for a condition the loop reaches on its own thread; the bound only keeps a broken loop from hanging
/// the suite (it is no speed check).</summary>
internal static class Eventually
{
    public static async Task True(Func<bool> condition, string what, Action? meanwhile = null)
    {
        for (var i = 0; i < 2000; i++)
        {
            if (condition()) return;
            meanwhile?.Invoke();
            await Task.Delay(5);
        }
        Assert.Fail($"never happened: {what}");
    }
}

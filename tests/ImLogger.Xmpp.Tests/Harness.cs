using System.Threading.Channels;
using System.Xml.Linq;

namespace ImLogger.Xmpp.Tests;

/// <summary>A connection under test wired to a <see cref="FakeServer"/>, collecting stanzas and logs.</summary>
internal sealed class Harness : IAsyncDisposable
{
    public const string Secret = "s3cr3t-Pa55w0rd";
    private readonly SemaphoreSlim _connected = new(0);
    private readonly CancellationTokenSource _cts = new();
    private Task? _run;

    public Harness(Action<ComponentConnectionOptions>? configure = null, TimeProvider? time = null)
    {
        Options = new ComponentConnectionOptions
        {
            Port = Server.Port,
            ComponentJid = "archive.example.test",
            Secret = Secret,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAliveInterval = TimeSpan.FromHours(1),
            InitialReconnectDelay = TimeSpan.FromMilliseconds(10),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(50),
        };
        configure?.Invoke(Options);
        Connection = new ComponentConnection(Options, Log, time);
        Connection.Connected += () => _connected.Release();
    }

    public FakeServer Server { get; } = new();
    public ListLogger<ComponentConnection> Log { get; } = new();
    public ComponentConnectionOptions Options { get; }
    public ComponentConnection Connection { get; }
    public Channel<XElement> Received { get; } = Channel.CreateUnbounded<XElement>();
    public Task Run => _run ?? throw new InvalidOperationException("not started");

    public Harness Start(Func<XElement, CancellationToken, ValueTask>? onStanza = null)
    {
        _run = Connection.RunAsync(onStanza ?? ((e, ct) => Received.Writer.WriteAsync(e, ct)), _cts.Token);
        return this;
    }

    public Task WaitConnectedAsync() => _connected.WaitAsync(FakeServer.Timeout).ContinueWith(t =>
    {
        if (!t.Result) throw new TimeoutException("Connected was not raised");
    }, TaskScheduler.Default);

    public Task<XElement> NextStanzaAsync() => Received.Reader.ReadAsync().AsTask().WaitAsync(FakeServer.Timeout);

    public async Task StopAsync()
    {
        await _cts.CancelAsync();
        await Run.WaitAsync(FakeServer.Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_run is not null)
        {
            try { await _run.WaitAsync(FakeServer.Timeout); }
            catch (Exception) { /* the test asserts on outcomes it cares about */ }
        }
        await Connection.DisposeAsync();
        Server.Dispose();
        _cts.Dispose();
    }
}

using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool.Ports;

/// <summary>A port of the spool under test on a real LiteDB file in the test's own folder: the fixture sees only the port's
/// interface (<see cref="Open{TPort}"/>), and <see cref="Reopen{TPort}"/> closes the file and opens it again, as a restart
/// does.</summary>
public abstract class SpoolPortFixture : TempDirFixture
{
    private readonly List<IDisposable> _open = [];

    private string SpoolPath => Path.Combine(Dir, "spool.db");

    /// <summary>The spool file, opened, seen through one of its ports.</summary>
    protected TPort Open<TPort>() where TPort : class
    {
        var spool = new LiteDbSpool(SpoolPath, NullLogger<LiteDbSpool>.Instance);
        _open.Add(spool);
        return spool as TPort ?? throw new InvalidOperationException($"the spool offers no {typeof(TPort).Name}");
    }

    /// <summary>Closes every spool the test opened, then opens the file again.</summary>
    protected TPort Reopen<TPort>() where TPort : class
    {
        CloseSpools();
        return Open<TPort>();
    }

    [TearDown]
    public void CloseSpools()
    {
        foreach (var spool in _open) spool.Dispose();
        _open.Clear();
    }

    protected static readonly DateTimeOffset T0 = Events.T0;

    protected const string Key = "alice@example.test bob@example.test";

    /// <summary>A chat event from Alice to Bob, received <paramref name="at"/>.</summary>
    protected static ConversationEvent Chat(string body, DateTimeOffset at) =>
        Events.Chat("alice@example.test/laptop", "bob@example.test", body, at);
}

using System.Xml.Linq;
using ImLogger.Xmpp;

namespace ImLogger.Ingest;

/// <summary>
/// The ingest loop's port to the XMPP server: a stream of stanzas in, stanzas out. In production it is the XEP-0114
/// <see cref="ComponentConnection"/> (<see cref="ComponentStanzaConnection"/>); in the tests, a scripted fake.
/// </summary>
public interface IStanzaConnection
{
    /// <summary>Reads stanzas and hands each to <paramref name="onStanza"/> in order, until <paramref name="stop"/> is
    /// cancelled (then it drains as the connection is configured to) or the connection cannot go on.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> was cancelled.</exception>
    /// <exception cref="ComponentFatalException">The server refused the component for good (wrong secret, JID).</exception>
    Task RunAsync(Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken stop);

    /// <summary>Sends one stanza.</summary>
    /// <returns>False when it could not go out because the connection is down (the caller says so; nothing is retried).</returns>
    ValueTask<bool> TrySendAsync(XElement stanza, CancellationToken token);
}

/// <summary>The XEP-0114 component connection as the ingest loop's <see cref="IStanzaConnection"/>.</summary>
public sealed class ComponentStanzaConnection(ComponentConnection connection) : IStanzaConnection
{
    /// <inheritdoc/>
    public Task RunAsync(Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken stop) => connection.RunAsync(onStanza, stop);

    /// <inheritdoc/>
    public async ValueTask<bool> TrySendAsync(XElement stanza, CancellationToken token)
    {
        try
        {
            await connection.SendAsync(stanza, token);
            return true;
        }
        catch (ComponentNotConnectedException)
        {
            return false;
        }
    }
}

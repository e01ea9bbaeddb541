namespace ImLogger.Integration.Tests.Support;

/// <summary>The XMPP server a scenario runs against (Debian's Prosody or ejabberd): started on loopback for one test.</summary>
internal interface IXmppServer : IAsyncDisposable
{
    /// <summary>"prosody" or "ejabberd": what <c>&lt;attach server&gt;</c> says.</summary>
    string Name { get; }
    string Dir { get; }
    int C2sPort { get; }
    int ComponentPort { get; }
    /// <summary>The server's log so far (where the ImLogger module writes too).</summary>
    string Log { get; }
    Task StartAsync();
    Task StopAsync();
    Task WaitForLogAsync(string text, TimeSpan timeout);
}

namespace ImLogger.Bench;

/// <summary>The XMPP server of one load column (Debian's Prosody or ejabberd), on loopback in its own folder.</summary>
internal interface IBenchServer : IAsyncDisposable
{
    int C2sPort { get; }
    int ComponentPort { get; }
    /// <summary>The server's process, whose CPU the table reports.</summary>
    int Pid { get; }

    /// <summary>The server's log (warnings and errors: what it refused or dropped).</summary>
    string LogFile { get; }
    /// <param name="include">The snippet <c>imlogger server-config --out</c> wrote (component and module), or null.</param>
    /// <param name="nagle">Keep the server's default Nagle setting (Prosody only; ejabberd sets TCP_NODELAY itself).</param>
    Task StartAsync(string? include, bool nagle);
}

namespace ImLogger.Host;

/// <summary>
/// <c>imlogger reload [--confirm] --config FILE</c>: asks the running service to reload now (as SIGHUP does) and
/// prints the outcome. With <c>--confirm</c>, a reload held because it would drop most logged users is applied as the
/// files are now (docs/admin-guide.md, "Live reload").
/// </summary>
/// <remarks>Exit codes: 0 applied (or unchanged); 1 refused (the config is wrong) or not read (still being written);
/// 2 no running service; 3 held, waiting for confirmation.</remarks>
internal static class ReloadCommand
{
    /// <summary>Below the control socket's 10 seconds per request: a slower reload answers from the service's log.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(8);

    public static int Run(Arguments args, Terminal terminal, RunningService? running)
    {
        if (running?.Reloads is not { } reloads)
        {
            terminal.Err.WriteLine("imlogger: imlogger run is not running for this config (no control socket beside the spool): nothing to reload; " +
                                   "the config is read when the service starts");
            return 2;
        }
        var outcome = reloads.RequestAsync(args.Confirm);
        if (!outcome.Wait(Wait))
        {
            terminal.Err.WriteLine("imlogger: the reload is still under way (a file is still being written?); its outcome will be in the service's log");
            return 1;
        }
        var (code, text) = outcome.Result;
        (code == 0 ? terminal.Out : terminal.Err).WriteLine($"reload: {text}");
        return code;
    }
}

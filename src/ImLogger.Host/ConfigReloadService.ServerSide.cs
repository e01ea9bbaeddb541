namespace ImLogger.Host;

internal sealed partial class ConfigReloadService
{
    /// <summary>
    /// What a reload's line says about the server side: a changed user list is only configured here until Prosody runs the
    /// new rules (its heartbeat carries their generation); until then the users it adds are neither held nor archived.
    /// AdapterWatchService logs the moment it is in force, or an ERROR once the heartbeat deadline passes without it.
    /// </summary>
    private string ServerSideText()
    {
        if (watch is null) return "server side not watched";
        var state = watch.State();
        if (state.InForce) return state.ToString();
        var config = holder.Current;
        var how = config.Attach.RulesOut is { } dir
            ? $"the new rules are written to {dir}; run `prosodyctl reload` if nothing else does"
            : $"<attach rules-out> is not set, so write them: `imlogger server-config --config {config.SourcePath} --out DIR` (the folder Prosody includes), then `prosodyctl reload`";
        return $"{state}: not in force until Prosody runs the new rules ({how}); due within {config.Attach.AliveDeadline.TotalSeconds:0} s";
    }
}

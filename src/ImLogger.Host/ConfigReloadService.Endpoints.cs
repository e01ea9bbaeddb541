using ImLogger.Config;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

internal sealed partial class ConfigReloadService
{
    /// <summary>What the last applied reload did to the endpoints, appended to the operator's line.</summary>
    private string _endpointsText = "";

    /// <summary>Rebuilds the sinks of the endpoints whose settings <paramref name="next"/> changes, before the config is put
    /// in force; null when done (or nothing changed), else why the whole reload is refused (nothing was applied).</summary>
    /// <remarks>Changes that need a restart were refused earlier (<see cref="ConfigHolder.NeedsRestart"/>); this refuses
    /// only a sink that cannot be built from its new settings.</remarks>
    private string? ApplyEndpoints(ImLoggerConfig next, string reason)
    {
        _endpointsText = "";
        if (sinks is null) return null;
        IReadOnlyList<EndpointChange> changes;
        try
        {
            changes = sinks.Apply(next.Endpoints);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var error = $"the endpoints' new settings cannot be used ({e.Message}); nothing of the new file was applied, the running config stays in force";
            RefuseOnce(error, reason);
            return $"refused: {error}";
        }
        if (changes.Count == 0) return null;
        var list = string.Join("; ", changes);
        logger.LogInformation("Config reload ({Reason}): endpoint changes applied, the next delivery to each uses its new settings: {Changes}", reason, list);
        _endpointsText = $"; endpoint changes applied: {list}";
        return null;
    }
}

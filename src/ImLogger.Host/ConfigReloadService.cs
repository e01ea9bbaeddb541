using System.Runtime.InteropServices;
using System.Threading.Channels;
using ImLogger.Config;
using ImLogger.Seats;
using ImLogger.ServerRules;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// Live reload: on SIGHUP, and when the config file (or a CSV or group file it reads) changes, the new config
/// is loaded and checked in full; if anything is wrong the running config stays in force and the error is
/// logged once; otherwise it replaces the running one for the next stanza. Writes the server rules to
/// <c>&lt;attach rules-out="..."/&gt;</c> at start and after each reload. Also says, at start, who is over the seat limit.
/// </summary>
internal sealed class ConfigReloadService(ConfigHolder holder, SeatLedger seats, SeatsAnnouncer announcer, Func<string, ImLoggerConfig> load, ILogger<ConfigReloadService> logger) : BackgroundService
{
    /// <summary>Editors write a file in several steps (truncate, write, rename): wait for the burst to end.</summary>
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);

    private readonly Channel<string> _triggers = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private string? _lastError;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var config = holder.Current;
        foreach (var warning in seats.Plan.OverLimitWarnings()) logger.LogWarning("Seats: {Warning}", warning);
        foreach (var warning in TapLimitations.Warnings(config)) logger.LogWarning("Tap mode: {Warning}", warning);
        WriteRules(config, reason: "start");

        using var hangup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP means "reload", not "terminate"
            _triggers.Writer.TryWrite("SIGHUP");
        });
        var watchers = Watch(config);
        try
        {
            while (await _triggers.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(Debounce, stoppingToken);
                var reasons = new HashSet<string>(StringComparer.Ordinal);
                while (_triggers.Reader.TryRead(out var r)) reasons.Add(r);
                if (Reload(string.Join(", ", reasons)))
                {
                    foreach (var w in watchers) w.Dispose();
                    watchers = Watch(holder.Current); // the new config may read other CSV or group files
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var w in watchers) w.Dispose();
        }
    }

    /// <summary>Loads and checks the file, then puts it in force. Returns whether it did.</summary>
    private bool Reload(string reason)
    {
        var running = holder.Current;
        ImLoggerConfig next;
        try
        {
            next = load(running.SourcePath);
        }
        catch (ConfigException e)
        {
            RefuseOnce(e.Message, reason);
            return false;
        }
        if (ConfigHolder.NeedsRestart(running, next) is { } restart)
        {
            RefuseOnce(restart, reason);
            return false;
        }
        _lastError = null;
        var before = seats.Plan.LoggedUsers.ToHashSet(StringComparer.Ordinal);
        holder.Replace(next);
        var plan = seats.Plan;
        var after = plan.LoggedUsers.ToHashSet(StringComparer.Ordinal);
        logger.LogInformation("Config reloaded ({Reason}): {Users} logged user(s) in {Orgs} organization(s); now logged: {Added}; no longer logged: {Removed}",
            reason, after.Count, next.Organizations.Count,
            Names(after.Except(before)), Names(before.Except(after)));
        foreach (var warning in plan.OverLimitWarnings()) logger.LogWarning("Seats: {Warning}", warning);
        foreach (var warning in TapLimitations.Warnings(next)) logger.LogWarning("Tap mode: {Warning}", warning);
        WriteRules(next, reason: "reload");
        _ = announcer.AnnounceAsync("reload");
        return true;
    }

    private static string Names(IEnumerable<string> jids)
    {
        var list = jids.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "nobody" : string.Join(", ", list);
    }

    /// <summary>A broken file raises several change events (and the admin may save it twice): one error line, not ten.</summary>
    private void RefuseOnce(string error, string reason)
    {
        if (error == _lastError) return;
        _lastError = error;
        logger.LogError("Config reload ({Reason}) refused, the running config stays in force: {Error}", reason, error);
    }

    private void WriteRules(ImLoggerConfig config, string reason)
    {
        if (config.Attach.RulesOut is not { } dir) return;
        try
        {
            var files = ServerRulesWriter.Write(config, dir);
            logger.LogInformation("Server rules for {Users} written ({Reason}): {Files}; {Hint}",
                ServerRulesWriter.Covers(config), reason, string.Join(", ", files), ServerRulesWriter.ReloadHint(config));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("Cannot write the server rules to {Dir} ({Reason}): {Error}. Logging follows the config, but Prosody keeps its old rules until they are written; " +
                            "give the imlogger user write access to that folder, or use `imlogger prosody-config --out`", dir, reason, e.Message);
        }
    }

    /// <summary>One watcher per folder holding the config or a file it reads; events for other files are ignored.</summary>
    private List<FileSystemWatcher> Watch(ImLoggerConfig config)
    {
        var files = new HashSet<string>([config.SourcePath, .. config.ReferencedFiles], StringComparer.Ordinal);
        var watchers = new List<FileSystemWatcher>();
        foreach (var dir in files.Select(Path.GetDirectoryName).OfType<string>().Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            var watcher = new FileSystemWatcher(dir)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            void OnChange(string path)
            {
                if (files.Contains(path)) _triggers.Writer.TryWrite($"{Path.GetFileName(path)} changed");
            }
            watcher.Changed += (_, e) => OnChange(e.FullPath);
            watcher.Created += (_, e) => OnChange(e.FullPath);
            watcher.Renamed += (_, e) => OnChange(e.FullPath);
            watcher.Error += (_, e) => logger.LogWarning("Watching {Dir} for config changes failed ({Error}); send SIGHUP to reload", dir, e.GetException().Message);
            watcher.EnableRaisingEvents = true;
            watchers.Add(watcher);
        }
        return watchers;
    }
}

using System.Runtime.InteropServices;
using System.Threading.Channels;
using ImLogger.Config;
using ImLogger.Seats;
using ImLogger.ServerRules;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>
/// Live reload: on SIGHUP, on <c>imlogger reload</c>, and when the config file (or a CSV or group file it reads)
/// changes, the new config is read once its files are stable (<see cref="StableConfigRead"/>) and checked in full;
/// if anything is wrong the running config stays in force and the error is logged once; a reload that would suddenly
/// drop most logged users is held until confirmed (<see cref="ReloadGuard"/>); otherwise it replaces the running one
/// for the next stanza. Writes the server rules to <c>&lt;attach rules-out="..."/&gt;</c> at start and after each
/// applied reload, never for a held or refused one. Also says, at start, who is over the seat limit.
/// </summary>
internal sealed partial class ConfigReloadService(ConfigHolder holder, SeatLedger seats, SeatsAnnouncer announcer, Func<string, ImLoggerConfig> load,
    TimeProvider time, ILogger<ConfigReloadService> logger, Sinks.LiveSinks? sinks = null, Liveness.AdapterWatch? watch = null) : BackgroundService
{
    /// <summary>Editors write a file in several steps (truncate, write, rename): wait for the burst of events to end.</summary>
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);

    /// <summary>Settle periods to wait for files that keep changing before giving up until their next change.</summary>
    private const int SettleTries = 30;

    /// <summary>Why a reload pass runs; <see cref="Done"/> gets its outcome (for <c>imlogger reload</c>).</summary>
    private sealed record Request(string Reason, bool Forced = false, bool Confirm = false, TaskCompletionSource<(int Code, string Text)>? Done = null);

    private readonly Channel<Request> _triggers = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ReloadGuard _guard = new(time);
    private readonly StableConfigRead _reader = new(load, time);
    private string? _lastError;
    private string? _appliedFingerprint;
    private CancellationTokenSource? _recheck;

    /// <summary>
    /// Reloads now, as SIGHUP does, and returns the outcome: exit code (0 applied or unchanged, 1 refused or
    /// unsettled, 3 held) and a line for the operator. With <paramref name="confirm"/>, a sudden drop in the files as
    /// they are now is applied.
    /// </summary>
    public Task<(int Code, string Text)> RequestAsync(bool confirm)
    {
        var done = new TaskCompletionSource<(int, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_triggers.Writer.TryWrite(new Request(confirm ? "imlogger reload --confirm" : "imlogger reload", Forced: true, Confirm: confirm, Done: done)))
            done.TrySetResult((1, "the service is stopping; nothing was reloaded"));
        return done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var config = holder.Current;
        // Watching starts before the start line is logged: an edit made once the service says it runs is seen.
        _appliedFingerprint = ConfigFileSnapshot.Take([config.SourcePath, .. config.ReferencedFiles]).Fingerprint();
        var watchers = Watch(config);
        foreach (var warning in seats.Plan.OverLimitWarnings()) logger.LogWarning("Seats: {Warning}", warning);
        foreach (var warning in TapLimitations.Warnings(config)) logger.LogWarning("Tap mode: {Warning}", warning);
        if (SpoolPlacement.Note(config) is { } placement) logger.LogWarning("Spool placement: {Note}", placement);
        WriteRules(config, reason: "start");

        using var hangup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP means "reload", not "terminate"
            _triggers.Writer.TryWrite(new Request("SIGHUP", Forced: true));
        });
        try
        {
            while (await _triggers.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(Debounce, time, stoppingToken);
                var requests = new List<Request>();
                while (_triggers.Reader.TryRead(out var r)) requests.Add(r);
                var reason = string.Join(", ", requests.Select(r => r.Reason).Distinct(StringComparer.Ordinal));
                (int Code, string Text) outcome;
                try
                {
                    outcome = await ReloadAsync(reason, requests.Any(r => r.Forced), requests.Any(r => r.Confirm), stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A reload must never take the service down: the running config simply stays.
                    logger.LogError(e, "Config reload ({Reason}) failed, the running config stays in force: {Error}", reason, e.Message);
                    outcome = (1, $"the reload failed ({e.Message}); the running config stays in force, see the service's log");
                }
                foreach (var r in requests) r.Done?.TrySetResult(outcome);
                if (outcome.Code == 0 && !ReferenceEquals(holder.Current, config))
                {
                    config = holder.Current;
                    foreach (var w in watchers) w.Dispose();
                    watchers = Watch(config); // the new config may read other CSV or group files
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var w in watchers) w.Dispose();
            _recheck?.Cancel();
            while (_triggers.Reader.TryRead(out var r)) r.Done?.TrySetResult((1, "the service is stopping; nothing was reloaded"));
        }
    }

    private static string Names(IEnumerable<string> jids, int max = 50)
    {
        var list = jids.Order(StringComparer.Ordinal).ToList();
        if (list.Count == 0) return "nobody";
        return list.Count <= max ? string.Join(", ", list) : $"{string.Join(", ", list.Take(max))} and {list.Count - max} more";
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
                            "give the imlogger user write access to that folder, or use `imlogger server-config --out`", dir, reason, e.Message);
        }
    }

    /// <summary>One watcher per folder holding the config or a file it reads (and, for a symbolic link, the folder of
    /// the file it points to); events for other files are ignored.</summary>
    private List<FileSystemWatcher> Watch(ImLoggerConfig config)
    {
        var files = WatchedFiles.Of(config);
        var watchers = new List<FileSystemWatcher>();
        foreach (var dir in files.Select(Path.GetDirectoryName).OfType<string>().Distinct(StringComparer.Ordinal).Where(Directory.Exists))
        {
            var watcher = new FileSystemWatcher(dir)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            void OnChange(string path, string what)
            {
                if (files.Contains(path)) _triggers.Writer.TryWrite(new Request($"{Path.GetFileName(path)} {what}"));
            }
            watcher.Changed += (_, e) => OnChange(e.FullPath, "changed");
            watcher.Created += (_, e) => OnChange(e.FullPath, "changed");
            watcher.Deleted += (_, e) => OnChange(e.FullPath, "deleted");
            watcher.Renamed += (_, e) =>
            {
                OnChange(e.FullPath, "changed");
                OnChange(e.OldFullPath, "renamed away");
            };
            watcher.Error += (_, e) => logger.LogWarning("Watching {Dir} for config changes failed ({Error}); send SIGHUP to reload", dir, e.GetException().Message);
            watcher.EnableRaisingEvents = true;
            watchers.Add(watcher);
        }
        return watchers;
    }
}

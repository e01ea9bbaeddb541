namespace ImLogger.Config;

/// <summary>The result of <see cref="StableConfigRead.LoadAsync"/>: a config, or why none, and the files as they were read.</summary>
/// <param name="Config">The loaded config; null when <see cref="Error"/> or <see cref="Unsettled"/> says why not.</param>
/// <param name="Error">The config's own error (a broken edit that stayed as it is); null when loaded or unsettled.</param>
/// <param name="Unsettled">Files that kept changing (or changed while read) on every try; empty when they settled.</param>
/// <param name="Files">The files as they were when the load read them (the last look when unsettled).</param>
public sealed record StableRead(ImLoggerConfig? Config, ConfigException? Error, IReadOnlyList<string> Unsettled, ConfigFileSnapshot Files);

/// <summary>
/// Reads the config only once nobody is writing it: every file (the config and each list it names) must look the same
/// (size, modification time and bytes) twice, <see cref="ReloadSettings.Settle"/> apart, and the same again after the
/// load, or the load is tried again. A file the new config names for the first time gets its own settle period.
/// </summary>
/// <remarks>
/// An editor or <c>export &gt; users.csv</c> truncates and then writes: what is read in between is half a list. A
/// writer that pauses longer than the settle period still produces a stable half list; that is what
/// <see cref="ReloadGuard"/> is for.
/// </remarks>
public sealed class StableConfigRead(Func<string, ImLoggerConfig> load, TimeProvider time)
{
    private readonly Func<string, ImLoggerConfig> _load = load ?? throw new ArgumentNullException(nameof(load));
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>Waits for <paramref name="files"/> to settle, loads <paramref name="configPath"/>, and checks nothing moved meanwhile.</summary>
    /// <param name="configPath">The config file.</param>
    /// <param name="files">The files known to be read (the running config's), the config file among them.</param>
    /// <param name="settle">How long the files must stay unchanged.</param>
    /// <param name="tries">How many settle periods to wait at most before giving up (the files keep changing).</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<StableRead> LoadAsync(string configPath, IEnumerable<string> files, TimeSpan settle, int tries, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(configPath);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThan(tries, 1);
        var known = new HashSet<string>(files, StringComparer.Ordinal) { configPath };
        var before = ConfigFileSnapshot.Take(known);
        IReadOnlyList<string> moving = [];
        for (var attempt = 0; attempt < tries; attempt++)
        {
            await Task.Delay(settle, _time, cancellationToken);
            var settled = ConfigFileSnapshot.Take(known);
            moving = settled.ChangedSince(before);
            before = settled;
            if (moving.Count > 0) continue;
            if (settled.Files.Values.FirstOrDefault(f => f.State.StartsWith("too large", StringComparison.Ordinal)) is { } huge)
                return new StableRead(null, new ConfigException(huge.Path, 0, 0,
                    $"{huge.State} (at most {ConfigFileSnapshot.MaxFileBytes / (1024 * 1024)} MiB; a link to a device never ends): not a config or user list; point the config at the list itself"), [], settled);

            ImLoggerConfig? config = null;
            ConfigException? error = null;
            try { config = _load(configPath); }
            catch (ConfigException e) { error = e; }

            var named = config == null ? [] : config.ReferencedFiles.Where(f => !known.Contains(f)).ToList();
            var after = ConfigFileSnapshot.Take(known.Concat(named));
            moving = after.ChangedSince(settled);
            before = after;
            if (moving.Count > 0) continue; // changed while being read: what was read may be two versions mixed
            if (named.Count > 0)
            {
                // A list the new config reads for the first time: it too must be seen unchanged for a settle period.
                known.UnionWith(named);
                moving = named;
                continue;
            }
            return new StableRead(config, error, [], after);
        }
        return new StableRead(null, null, moving, before);
    }
}

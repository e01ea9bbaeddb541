using System.Security.Cryptography;

namespace ImLogger.Config;

/// <summary>What one file of the config looked like at one moment: missing, unreadable, or its size, time and bytes.</summary>
/// <param name="Path">Absolute path, as the config names it.</param>
/// <param name="State">"missing", "unreadable: why", "too large: N bytes", or "N bytes" (for messages).</param>
/// <param name="Length">Size in bytes; -1 when not read.</param>
/// <param name="LastWriteUtc">Modification time; default when not read.</param>
/// <param name="Target">Where a symbolic link pointed (a swapped link is a change even to identical bytes); null for a file.</param>
/// <param name="Hash">SHA-256 of the bytes (hex); null when not read.</param>
public sealed record ConfigFileState(string Path, string State, long Length, DateTime LastWriteUtc, string? Target, string? Hash)
{
    /// <summary>Whether the bytes were read (the file exists, is readable and not too large).</summary>
    public bool Read => Hash != null;
}

/// <summary>
/// The config file and the lists it reads, as they are on disk at one moment. Two snapshots taken a settle period
/// apart that are equal (sizes, times and bytes) say that nobody is writing them; a snapshot equal to the one before a
/// load says that the load read one version of every file.
/// </summary>
public sealed class ConfigFileSnapshot
{
    /// <summary>Larger is not a user list: reading it (a link to /dev/zero, a runaway export) must not eat the memory.</summary>
    public const long MaxFileBytes = 64L * 1024 * 1024;

    private ConfigFileSnapshot(IReadOnlyDictionary<string, ConfigFileState> files) => Files = files;

    /// <summary>Each file's state, by absolute path.</summary>
    public IReadOnlyDictionary<string, ConfigFileState> Files { get; }

    /// <summary>Looks at <paramref name="paths"/> now. Never throws for a file that is missing or unreadable: that is its state.</summary>
    public static ConfigFileSnapshot Take(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new Dictionary<string, ConfigFileState>(StringComparer.Ordinal);
        foreach (var path in paths.Distinct(StringComparer.Ordinal)) files[path] = Look(path);
        return new ConfigFileSnapshot(files);
    }

    private static ConfigFileState Look(string path)
    {
        string? target = null;
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget != null) target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.LinkTarget;
            if (!File.Exists(path)) return new ConfigFileState(path, "missing", -1, default, target, null);
            info = new FileInfo(target ?? path);
            if (info.Length > MaxFileBytes) return new ConfigFileState(path, $"too large: {info.Length} bytes", info.Length, info.LastWriteTimeUtc, target, null);
            var bytes = ReadCapped(path);
            if (bytes == null) return new ConfigFileState(path, $"too large: more than {MaxFileBytes} bytes", -1, info.LastWriteTimeUtc, target, null);
            return new ConfigFileState(path, $"{bytes.Length} bytes", bytes.Length, info.LastWriteTimeUtc, target, Convert.ToHexString(SHA256.HashData(bytes)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigFileState(path, $"unreadable: {e.Message}", -1, default, target, null);
        }
    }

    /// <summary>The bytes, or null past <see cref="MaxFileBytes"/> (a device reports length 0 and never ends).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to read it.</exception>
    internal static byte[]? ReadCapped(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = stream.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > MaxFileBytes) return null;
        }
        return buffer.ToArray();
    }

    /// <summary>The paths whose state differs between the two snapshots (a path only one of them looked at is left out).</summary>
    public IReadOnlyList<string> ChangedSince(ConfigFileSnapshot earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        return Files.Values.Where(f => earlier.Files.TryGetValue(f.Path, out var before) && before != f).Select(f => f.Path)
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>One text for the content of every file (paths, states and hashes, not times): the same text means the
    /// same config, which is how a held change is recognised when it is seen again.</summary>
    public string Fingerprint() => Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n",
        Files.Values.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => $"{f.Path}\0{f.Target}\0{f.Hash ?? f.State}")))));

    /// <summary>Files that cannot be read as they are (missing, unreadable, too large), for messages.</summary>
    public IEnumerable<ConfigFileState> Unread => Files.Values.Where(f => !f.Read);
}

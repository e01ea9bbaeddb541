using System.Globalization;
using ImLogger.Files;

namespace ImLogger.Spool;

/// <summary>
/// The spool's identity kept outside its database file, in "{spool}.identity" beside it: the random id written inside
/// the database when it was created, and its generation (a counter the database and this file advance together, the
/// database first). A database that is missing, empty, another one, or older than this file says so at start.
/// </summary>
/// <remarks>Written as a small text file through a temporary file and a rename, owner-only, a few times a minute at
/// most (never per stanza). A write lost in a crash only leaves the file behind the database, which is allowed.</remarks>
public sealed record SpoolMarker(string SpoolId, long Generation, string SpoolPath, DateTimeOffset UpdatedUtc)
{
    /// <summary>The marker file of a spool data file.</summary>
    public static string PathFor(string spoolPath) => Path.GetFullPath(spoolPath) + ".identity";

    /// <summary>Reads the marker of <paramref name="spoolPath"/>; null when there is none.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a marker (damaged or edited).</exception>
    public static SpoolMarker? Read(string spoolPath)
    {
        var file = PathFor(spoolPath);
        if (!File.Exists(file)) return null;
        var values = File.ReadAllLines(file)
            .Where(l => l.Length > 0 && l[0] != '#' && l.Contains('='))
            .Select(l => l.Split('=', 2))
            .GroupBy(p => p[0].Trim(), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1].Trim(), StringComparer.Ordinal);
        if (!values.TryGetValue("spool-id", out var id) || id.Length == 0
            || !values.TryGetValue("generation", out var g) || !long.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
            throw new InvalidDataException(
                $"The spool identity marker '{file}' is not readable (no spool-id or generation). It was damaged or edited; " +
                $"if '{spoolPath}' is the right spool, delete '{file}' and start again (it is written anew from the spool).");
        var updated = values.TryGetValue("updated", out var u) && DateTimeOffset.TryParse(u, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t : DateTimeOffset.MinValue;
        return new SpoolMarker(id, generation, values.GetValueOrDefault("path", ""), updated);
    }

    /// <summary>Writes this marker beside <see cref="SpoolPath"/> (temporary file, then rename).</summary>
    public void Write()
    {
        var file = PathFor(SpoolPath);
        var temp = file + ".tmp";
        var text = "# ImLogger spool identity: which spool database belongs here and how far it got. Do not edit or copy it;\n" +
                   "# delete it only if the spool beside it is the right one (it is written anew at start).\n" +
                   $"spool-id={SpoolId}\ngeneration={Generation.ToString(CultureInfo.InvariantCulture)}\npath={SpoolPath}\n" +
                   $"updated={UpdatedUtc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\n";
        using (var stream = OwnerOnlyFiles.Open(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        using (var writer = new StreamWriter(stream))
            writer.Write(text);
        File.Move(temp, file, overwrite: true);
    }
}

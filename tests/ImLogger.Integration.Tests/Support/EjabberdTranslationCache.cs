namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// ejabberd's translation cache (<c>translations.cache</c> in the Mnesia folder), kept from the first server of a run that
/// wrote one and copied into every later server's fresh Mnesia folder before it starts.
/// </summary>
/// <remarks>
/// A server that finds no cache builds one from the .msg files of every language it ships (ejabberd's log: "Building
/// language translation cache") and loads a copy that is newer than those files instead. Every case starts on a
/// fresh spool, so each built it again: about 0.5 s of the 2.3-2.9 s of CPU a start takes (four starts of each,
/// alternating, same config, load average 4-6: 2.35-2.85 s without, 1.91-2.42 s with). The cache holds ejabberd's own
/// message catalogues only, the same for every server of the run; a server started again on its spool keeps its own.
/// </remarks>
internal static class EjabberdTranslationCache
{
    private const string FileName = "translations.cache";
    private static readonly object Gate = new();
    private static string? _kept;

    /// <summary>Copies the kept cache into <paramref name="mnesiaDir"/> unless it has one.</summary>
    public static void Seed(string mnesiaDir)
    {
        var kept = Volatile.Read(ref _kept);
        var target = Path.Combine(mnesiaDir, FileName);
        if (kept == null || File.Exists(target)) return;
        Directory.CreateDirectory(mnesiaDir);
        File.Copy(kept, target);
    }

    /// <summary>Keeps the cache a started server wrote in <paramref name="mnesiaDir"/>, if none is kept yet.</summary>
    public static void Keep(string mnesiaDir)
    {
        var written = Path.Combine(mnesiaDir, FileName);
        if (Volatile.Read(ref _kept) != null || !File.Exists(written)) return;
        lock (Gate)
        {
            if (_kept != null) return;
            // Its own folder, not the server's (deleted when its case ends); removed when the test run's process exits.
            var dir = Paths.TempDir("imlogger-ej-translations-");
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
            var kept = Path.Combine(dir, FileName);
            File.Copy(written, kept);
            Volatile.Write(ref _kept, kept);
        }
    }
}

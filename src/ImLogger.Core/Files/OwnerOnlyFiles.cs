using System.Runtime.InteropServices;

namespace ImLogger.Files;

/// <summary>
/// Files ImLogger creates are owner-only (0600, folders 0700) from the moment they exist, whatever the umask: the spool,
/// its log and lock, the <c>.eml</c> files. The host also narrows the process umask (<c>ProcessUmask</c>), which covers
/// files that libraries create (LiteDB's log, NLog's files); these explicit modes are the second line, for code that runs
/// in another process (tests, the bench) and for files that existed before.
/// </summary>
/// <remarks>On Windows every method does what the plain .NET call does: the modes are a Unix notion.</remarks>
public static class OwnerOnlyFiles
{
    /// <summary>rw------- (0600).</summary>
    public const UnixFileMode ReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>rwx------ (0700), for folders.</summary>
    public const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private const UnixFileMode GroupAndOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Opens <paramref name="path"/>; when the call creates it, it is created with <paramref name="createMode"/>
    /// (narrowed further by the umask), so it is never readable by others, not even for an instant.</summary>
    /// <exception cref="IOException">The file cannot be opened or created.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission.</exception>
    public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share = FileShare.None,
        int bufferSize = 4096, FileOptions options = FileOptions.None, UnixFileMode createMode = ReadWrite)
    {
        var settings = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows()) settings.UnixCreateMode = createMode;
        return new FileStream(path, settings);
    }

    /// <summary>Creates an empty owner-only file if none exists (so that a library which then opens it with
    /// "open or create" finds it and keeps its mode); an existing file is left alone.</summary>
    /// <exception cref="IOException">The file cannot be created.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission.</exception>
    public static void Precreate(string path)
    {
        if (File.Exists(path)) return;
        try
        {
            using var _ = Open(path, FileMode.CreateNew, FileAccess.Write);
        }
        catch (IOException) when (File.Exists(path))
        {
            // created by someone else in between: theirs stays
        }
    }

    /// <summary>Creates a folder (and its parents) 0700 if it is missing; an existing folder keeps its mode
    /// (the operator chose it, e.g. a setgid folder shared with Prosody).</summary>
    /// <exception cref="IOException">The folder cannot be created.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission.</exception>
    public static void CreateFolder(string path)
    {
        if (Directory.Exists(path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, Folder);
    }

    /// <summary>Takes group and other permissions away from an existing file that has them (one an earlier version
    /// created with the umask's mode).</summary>
    /// <returns>The mode it had, when it was narrowed; null when it was owner-only already, missing, or not ours to change.</returns>
    public static UnixFileMode? Narrow(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path)) return null;
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupAndOther) == 0) return null;
            File.SetUnixFileMode(path, mode & ~GroupAndOther);
            return mode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Owner and group of a file (Linux <c>statx</c>); null where that cannot be asked.</summary>
    public static (uint Uid, uint Gid)? OwnerOf(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var buffer = new byte[256];
        try
        {
            if (Native.statx(Native.AT_FDCWD, path, 0, Native.STATX_UID | Native.STATX_GID, buffer) != 0) return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
        // struct statx is the same on every Linux architecture: stx_uid at 20, stx_gid at 24.
        return (BitConverter.ToUInt32(buffer, 20), BitConverter.ToUInt32(buffer, 24));
    }

    private static class Native
    {
        public const int AT_FDCWD = -100;
        public const uint STATX_UID = 0x8;
        public const uint STATX_GID = 0x10;

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which the project does not allow
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
#pragma warning restore SYSLIB1054
    }
}

using System.Runtime.InteropServices;

namespace ImLogger.Files;

/// <summary>fsync of a directory: what makes a file created or renamed in it survive a power loss (POSIX leaves the
/// directory entry to the directory's own fsync).</summary>
public static class DurableDirectory
{
    /// <summary>Syncs <paramref name="directory"/> (Linux; elsewhere a no-op). File systems that cannot sync a directory
    /// (EINVAL) are left as they are.</summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void Sync(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        var fd = Native.open(directory, Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"open({directory}) for fsync failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }
        try
        {
            if (Native.fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Native.EINVAL)
                    throw new IOException($"fsync({directory}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
            }
        }
        finally
        {
            _ = Native.close(fd);
        }
    }

    private static class Native
    {
        public const int O_RDONLY = 0;
        public const int O_CLOEXEC = 0x80000; // same value on x86-64 and arm64 Linux
        public const int EINVAL = 22;

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which the project does not allow
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054
    }
}

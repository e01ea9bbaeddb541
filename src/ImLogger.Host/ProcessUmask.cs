using System.Runtime.InteropServices;

namespace ImLogger.Host;

/// <summary>
/// Narrows the process umask to owner-only (adds 077 to whatever the caller set) before anything is opened, so every file
/// this process creates, its libraries' included (LiteDB's log and temp files, NLog's log files and folders), is
/// owner-only from the moment it exists, even when started from a shell with umask 022. Files that must be shared are
/// given their mode explicitly (the Prosody snippet and rules: 0640).
/// </summary>
internal static class ProcessUmask
{
    private const uint GroupAndOther = 0x3F; // octal 077

    /// <summary>Applies it (Unix only).</summary>
    /// <returns>The umask before, or null where there is none.</returns>
    public static uint? RestrictToOwner()
    {
        if (OperatingSystem.IsWindows()) return null;
        var before = umask(GroupAndOther);
        umask(before | GroupAndOther);
        return before;
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which the project does not allow
    [DllImport("libc")]
    private static extern uint umask(uint mask);
#pragma warning restore SYSLIB1054
}

using System.Globalization;
using System.Text;
using ImLogger.Conversations;
using ImLogger.Files;
using Microsoft.Extensions.Logging;

namespace ImLogger.Sinks;

/// <summary>
/// An endpoint that writes each transcript as one <c>.eml</c> file into a directory.
/// </summary>
/// <remarks>
/// The file name depends only on the transcript (opened time, conversation key, id), so a redelivery overwrites
/// the same file. The write is atomic and durable: temp file in the same directory, fsync, rename over the
/// target, fsync of the directory (Linux) so the rename itself survives a power loss. Files are created 0600 (owner
/// only) whatever the umask, and a directory the sink creates is 0700; an archiving agent reads them as the same user,
/// or the operator grants access to the folder (see docs/admin-guide.md, "File modes").
/// </remarks>
public sealed class DirectorySink : ITranscriptSink
{
    private const int MaxKeyLength = 120;

    /// <summary>.eml files get canonical RFC 5322 line endings (CRLF) on every OS.</summary>
    private static readonly MimeKit.FormatOptions EmlFormat = CreateFormat();

    private static MimeKit.FormatOptions CreateFormat()
    {
        var format = MimeKit.FormatOptions.Default.Clone();
        format.NewLineFormat = MimeKit.NewLineFormat.Dos;
        return format;
    }

    private readonly string _directory;
    private readonly TranscriptMessageBuilder _builder;
    private readonly ILogger<DirectorySink> _logger;

    /// <summary>Creates the sink.</summary>
    /// <param name="name">Endpoint name.</param>
    /// <param name="directory">Target directory (created when missing).</param>
    /// <param name="builder">Renders the message.</param>
    /// <param name="logger">Logger.</param>
    public DirectorySink(string name, string directory, TranscriptMessageBuilder builder, ILogger<DirectorySink> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(logger);
        Name = name;
        _directory = Path.GetFullPath(directory);
        _builder = builder;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The target directory (absolute).</summary>
    public string Directory => _directory;

    /// <summary>The file name a transcript is written to: <c>{yyyyMMdd'T'HHmmss'Z'}-{key}-{id}.eml</c>, stable per transcript.</summary>
    public static string FileNameFor(Transcript transcript)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var opened = transcript.OpenedUtc.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        return $"{opened}-{SanitiseKey(transcript.ConversationKey)}-{TranscriptMessageBuilder.SafeToken(transcript.Id)}.eml";
    }

    /// <summary>Conversation key as a file-name part: [A-Za-z0-9@._-] kept, anything else (space, slash, ...) becomes '_'.</summary>
    internal static string SanitiseKey(string key)
    {
        var sb = new StringBuilder(Math.Min(key.Length, MaxKeyLength));
        foreach (var c in key)
        {
            if (sb.Length >= MaxKeyLength) break;
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '@' or '.' or '_' or '-' ? c : '_');
        }
        // no leading dot (hidden file) and never "." or ".."
        var s = sb.ToString().TrimStart('.');
        return s.Length == 0 ? "_" : s;
    }

    /// <inheritdoc />
    /// <returns>The path of the written file.</returns>
    public async Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var message = _builder.Build(transcript);
        var fileName = FileNameFor(transcript);
        var target = Path.Combine(_directory, fileName);
        var temp = Path.Combine(_directory, "." + fileName + ".tmp");
        try
        {
            Files.OwnerOnlyFiles.CreateFolder(_directory);
            // Owner-only from creation (0600, whatever the umask); a temp file left by an interrupted write is removed
            // first, since opening it would keep whatever mode it had.
            File.Delete(temp);
            await using (var stream = Files.OwnerOnlyFiles.Open(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
            {
                await message.WriteToAsync(EmlFormat, stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
            DurableDirectory.Sync(_directory);
        }
        catch (OperationCanceledException)
        {
            TryDelete(temp);
            throw;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            TryDelete(temp);
            throw new SinkException(Describe(ex, target), isTransient: true, ex);
        }
        _logger.LogDebug("transcript {Id} written to {Path}", transcript.Id, target);
        return target;
    }

    private string Describe(Exception ex, string target)
    {
        var hint = ex switch
        {
            UnauthorizedAccessException or System.Security.SecurityException =>
                $"Permission denied: give the imlogger service user write permission on '{_directory}'.",
            IOException io when IsDiskFull(io) =>
                $"The disk holding '{_directory}' is full: free space there (transcripts wait in the spool meanwhile).",
            _ => $"Check that '{_directory}' exists, is writable and its file system is healthy.",
        };
        return $"Endpoint '{Name}': cannot write '{target}': {ex.Message} {hint}";
    }

    private static bool IsDiskFull(IOException ex)
    {
        var code = ex.HResult & 0xFFFF;
        // ENOSPC (28) and EDQUOT (122 Linux) on Unix; ERROR_HANDLE_DISK_FULL (39) and ERROR_DISK_FULL (112) on Windows.
        return OperatingSystem.IsWindows() ? code is 39 or 112 : code is 28 or 122;
    }

    private void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("could not remove temporary file {Path}: {Error}", path, ex.Message);
        }
    }


}

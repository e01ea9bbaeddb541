using ImLogger.Config;

namespace ImLogger.Host;

/// <summary>Reads the spool's encryption key from the file <c>&lt;spool key-file="..."&gt;</c> names (never logged).</summary>
internal static class SpoolKey
{
    /// <summary>The key, or null when the spool is not encrypted.</summary>
    /// <exception cref="ConfigException">The key file cannot be read or is too short.</exception>
    public static string? Read(ImLoggerConfig config)
    {
        if (config.SpoolKeyFile is null) return null;
        string key;
        try
        {
            key = File.ReadAllText(config.SpoolKeyFile).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(config.SourcePath, 0, 0, $"cannot read the spool key file {config.SpoolKeyFile}: {e.Message}");
        }
        if (key.Length < 16)
            throw new ConfigException(config.SourcePath, 0, 0,
                $"the spool key file {config.SpoolKeyFile} holds {key.Length} characters; use at least 16 random ones (e.g. `openssl rand -base64 32 > {config.SpoolKeyFile}`)");
        return key;
    }

    /// <summary>Opens the spool for an operator command when no service answers on the control socket (a running
    /// service holds the spool locked; the error says so).</summary>
    /// <returns>The spool, or null after printing why it cannot be opened.</returns>
    public static Spool.LiteDbSpool? OpenForCommand(ImLoggerConfig config)
    {
        try
        {
            return new Spool.LiteDbSpool(config.SpoolPath, Microsoft.Extensions.Logging.Abstractions.NullLogger<Spool.LiteDbSpool>.Instance, Read(config));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Console.Error.WriteLine($"imlogger: {e.Message}");
            return null;
        }
    }
}

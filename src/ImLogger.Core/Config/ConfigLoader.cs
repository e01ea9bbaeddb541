using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace ImLogger.Config;

/// <summary>
/// Reads the admin's XML config. Every problem is reported as a <see cref="ConfigException"/> naming
/// file, line, column and what is wrong; DTDs and entities are refused (no entity tricks).
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Loads and checks a config file.</summary>
    /// <param name="path">The file; relative paths inside it are taken relative to its folder.</param>
    /// <param name="environment">Looks up environment variables (for <c>secret-env</c>); defaults to the process environment.</param>
    /// <exception cref="ConfigException">The file is missing, not well-formed, or wrong.</exception>
    public static ImLoggerConfig Load(string path, Func<string, string?>? environment = null) => Load(path, environment, readSecrets: true);

    /// <summary>
    /// Loads and checks a config file without reading its secrets (the component secret, SMTP passwords): for the
    /// commands the running service answers (<c>report</c>, <c>spool</c>, <c>check-server</c>, <c>reload</c>), which an
    /// admin's shell or a monitoring user runs without access to the service's secrets. Where each secret would come
    /// from is still checked; <see cref="ComponentSettings.Secret"/> is empty and each SMTP password is
    /// <see cref="SecretText.Unread"/>, so nothing can authenticate with such a config.
    /// </summary>
    /// <exception cref="ConfigException">The file is missing, not well-formed, or wrong.</exception>
    public static ImLoggerConfig LoadWithoutSecrets(string path, Func<string, string?>? environment = null) =>
        Load(path, environment, readSecrets: false);

    private static ImLoggerConfig Load(string path, Func<string, string?>? environment, bool readSecrets)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        environment ??= Environment.GetEnvironmentVariable;
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new ConfigException(path, 0, 0, $"the file does not exist (looked for {fullPath}); pass --config with the path of your imlogger.xml");

        XDocument doc;
        XmlReader? reader = null;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };
            reader = XmlReader.Create(fullPath, settings);
            doc = XDocument.Load(reader, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            // The DTD refusal carries no position of its own; the reader knows where it stopped.
            var (line, column) = e.LineNumber > 0 ? (e.LineNumber, e.LinePosition)
                : reader is IXmlLineInfo info ? (info.LineNumber, info.LinePosition) : (0, 0);
            var dtd = e.Message.Contains("DTD", StringComparison.OrdinalIgnoreCase);
            var problem = dtd
                ? "DTDs and entity declarations are not allowed in the config (they could expand without bound); remove the <!DOCTYPE ...> block"
                : $"not well-formed XML: {StripPosition(e.Message)}";
            if (dtd && line == 0) (line, column) = Locate(fullPath, "<!DOCTYPE");
            throw new ConfigException(path, line, column, problem, e);
        }
        catch (IOException e)
        {
            throw new ConfigException(path, 0, 0, $"cannot read the file: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConfigException(path, 0, 0, $"no permission to read the file: {e.Message}", e);
        }
        finally
        {
            reader?.Dispose();
        }

        // The schema is checked first: a config that breaks it is never used. Where ImLogger's own checks
        // explain the same line more precisely (they know defaults, files and secrets), their words are given.
        var schemaError = ValidateSchema(doc, path);
        var checks = new Reader(path, Path.GetDirectoryName(fullPath)!, environment, readSecrets);
        if (schemaError == null) return checks.Read(doc.Root!);
        try
        {
            checks.Read(doc.Root!);
        }
        catch (ConfigException own) when (own.Line == schemaError.Line)
        {
            throw new ConfigException(own.File, own.Line, own.Column, own.Problem, schemaError);
        }
        catch (ConfigException)
        {
            // Another problem elsewhere: the schema's, at the first offending line, is reported first.
        }
        throw schemaError;
    }

    private static (int Line, int Column) Locate(string path, string text)
    {
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var at = lines[i].IndexOf(text, StringComparison.OrdinalIgnoreCase);
            if (at >= 0) return (i + 1, at + 1);
        }
        return (0, 0);
    }

    private static string StripPosition(string message)
    {
        var i = message.IndexOf(" Line ", StringComparison.Ordinal);
        return i > 0 ? message[..i].TrimEnd('.', ' ') : message;
    }

    /// <summary>Parses "15s", "10m", "2h", "1d", "250ms", their sums as <see cref="DurationText"/> prints them
    /// ("1h30m") or an ISO 8601 duration ("PT15S").</summary>
    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text.StartsWith('P'))
        {
            try { value = XmlConvert.ToTimeSpan(text); return value > TimeSpan.Zero; }
            catch (FormatException) { return false; }
        }
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (i == start || !double.TryParse(text[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)) return false;
            TimeSpan part;
            if (text.AsSpan(i).StartsWith("ms")) { part = TimeSpan.FromMilliseconds(n); i += 2; }
            else if (i < text.Length && text[i] is 's' or 'm' or 'h' or 'd')
            {
                part = text[i] switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), _ => TimeSpan.FromDays(n) };
                i++;
            }
            else return false;
            value += part;
        }
        return value > TimeSpan.Zero;
    }
}

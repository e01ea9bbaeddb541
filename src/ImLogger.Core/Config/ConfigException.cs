namespace ImLogger.Config;

/// <summary>
/// The configuration file is wrong. The message names the file, the line and column, and what is
/// wrong, in words an admin can act on ("config/imlogger.xml:12:5: endpoint 'archive' ... is not defined").
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int line, int column, string problem, Exception? inner = null)
        : base(line > 0 ? $"{file}:{line}:{column}: {problem}" : $"{file}: {problem}", inner)
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>Path of the file as given to the loader.</summary>
    public string File { get; }

    /// <summary>1-based line, or 0 when the problem is not tied to a line.</summary>
    public int Line { get; }

    public int Column { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
}

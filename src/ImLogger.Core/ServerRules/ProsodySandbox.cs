using System.Globalization;
using System.Text;

namespace ImLogger.ServerRules;

/// <summary>
/// The global section of a throw-away Prosody on loopback (integrations/prosody/sandbox.cfg.lua.in, embedded):
/// what the demo, the integration tests and the benchmark start. Callers append their own hosts and Includes.
/// </summary>
/// <remarks>Not for production: plain authentication without TLS, running as root.</remarks>
public static class ProsodySandbox
{
    private const string TemplateName = "sandbox.cfg.lua.in";

    /// <summary>The filled-in global section.</summary>
    /// <param name="directory">Where Prosody keeps its pid file, data, certificates and log (prosody.log).</param>
    /// <param name="c2sPort">The client port.</param>
    /// <param name="componentPort">The XEP-0114 component port.</param>
    /// <param name="logLevel">Prosody's minimum log level (debug, info, warn).</param>
    public static string GlobalSection(string directory, int c2sPort, int componentPort, string logLevel)
    {
        using var stream = typeof(ProsodySandbox).Assembly.GetManifestResourceStream(TemplateName)
            ?? throw new InvalidOperationException($"{TemplateName} is not embedded in this build of ImLogger");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd()
            .Replace("@DIR@", directory, StringComparison.Ordinal)
            .Replace("@C2S_PORT@", c2sPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@COMPONENT_PORT@", componentPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@LOG_LEVEL@", logLevel, StringComparison.Ordinal);
    }
}

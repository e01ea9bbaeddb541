using System.Text;
using ImLogger.Config;

namespace ImLogger.ServerRules;

public static partial class ProsodyInlineRules
{
    /// <summary>
    /// Scaled out (docs/scale-out.md): the module picks each conversation's instance among these components by a stable
    /// hash of the conversation's key, in this order; every instance's config lists them alike, so the rules written from
    /// any one of them are the same. One <c>Component</c> section per instance follows, all with this config's secret.
    /// </summary>
    private static void ScaleOutLines(ImLoggerConfig config, StringBuilder sb)
    {
        if (config.ScaleOut is not { } scaleOut) return;
        sb.AppendLine($"\t-- scale-out: {scaleOut.Components.Count} ImLogger instances; each conversation goes to one of them (docs/scale-out.md)");
        sb.AppendLine($"\timlogger_components = {{ {string.Join(", ", scaleOut.Components.Select(Lua))} }}");
    }
}

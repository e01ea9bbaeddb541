using System.Text;
using ImLogger.Config;

namespace ImLogger.ServerRules;

public static partial class EjabberdInlineRules
{
    /// <summary>
    /// The component listener's hosts: this config's component, or scaled out (docs/scale-out.md) every instance's, all
    /// with this config's secret (the instances share it, or the operator gives each its own). Scaled out, each instance
    /// must be routed its own component only: ejabberd_service registers every listed host for whichever component
    /// authenticates first unless <c>global_routes</c> is off.
    /// </summary>
    private static void ComponentHosts(ImLoggerConfig config, StringBuilder sb)
    {
        if (config.ScaleOut != null) sb.AppendLine("    global_routes: false");
        sb.AppendLine("    hosts:");
        foreach (var jid in config.ScaleOut?.Components ?? [config.Component.Jid])
        {
            sb.AppendLine($"      {Yaml(jid)}:");
            sb.AppendLine($"        password: {Yaml(config.Component.Secret)}");
        }
    }

    /// <summary>Scaled out: the module picks each conversation's instance among these components (in this order) by a
    /// stable hash of the conversation's key, as the Prosody module does (mod_imlogger_lanes.erl).</summary>
    private static void ScaleOutOption(ImLoggerConfig config, StringBuilder sb)
    {
        if (config.ScaleOut is not { } scaleOut) return;
        sb.AppendLine($"        # scale-out: {scaleOut.Components.Count} ImLogger instances; each conversation goes to one of them (docs/scale-out.md)");
        sb.AppendLine($"        components: {List(scaleOut.Components)}");
    }
}

using System.Net;
using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>&lt;metrics listen="127.0.0.1:9464"/&gt;</c>: a loopback address and a port.</summary>
        private MetricsSettings? ReadMetrics(XElement? e)
        {
            if (e == null) return null;
            Only(e, ["listen"], []);
            var text = Required(e, "listen").Trim();
            if (!IPEndPoint.TryParse(text, out var endpoint) || endpoint.Port == 0 || !text.Contains(':'))
                throw Error(e.Attribute("listen")!, $"listen must be a loopback address and a port (127.0.0.1:9464 or [::1]:9464), not '{text}'");
            if (!IPAddress.IsLoopback(endpoint.Address))
                throw Error(e.Attribute("listen")!, $"listen must be a loopback address: nothing authenticates a scrape, and the figures name " +
                                                     $"organizations and endpoints ('{text}'); to scrape from another host, put a reverse proxy " +
                                                     "or an SSH tunnel in front of 127.0.0.1");
            return new MetricsSettings(endpoint);
        }
    }
}

using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>&lt;reload settle="1s" confirm-drops-after="30s|never"/&gt;</c>; the defaults when absent.</summary>
        private ReloadSettings ReadReload(XElement? e)
        {
            if (e == null) return new ReloadSettings();
            Only(e, ["settle", "confirm-drops-after"], []);
            var settle = Duration(e, "settle", TimeSpan.FromSeconds(1));
            if (settle < TimeSpan.FromMilliseconds(100) || settle > TimeSpan.FromMinutes(1))
                throw Error(e.Attribute("settle")!, $"settle must be between 0.1s and 1m (each reload waits that long), not '{(string?)e.Attribute("settle")}'");
            TimeSpan? confirm = TimeSpan.FromSeconds(30);
            if (e.Attribute("confirm-drops-after") is { } a)
            {
                if (a.Value.Trim().Equals("never", StringComparison.OrdinalIgnoreCase)) confirm = null;
                else if (TryParseDuration(a.Value, out var after) && after >= settle) confirm = after;
                else throw Error(a, $"confirm-drops-after must be a duration such as 30s or 5m (at least settle, {settle.TotalSeconds:0.###}s), " +
                                    $"or never (only `imlogger reload --confirm` applies a sudden drop), not '{a.Value}'");
            }
            return new ReloadSettings { Settle = settle, ConfirmDropsAfter = confirm };
        }
    }
}

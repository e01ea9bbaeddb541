using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>&lt;failover role="active|standby" instance="NAME" retry="2s"/&gt;</c>; null when absent (a single instance).</summary>
        private FailoverSettings? ReadFailover(XElement? e)
        {
            if (e == null) return null;
            Only(e, ["role", "instance", "retry"], []);
            var role = ((string?)e.Attribute("role") ?? "active").Trim().ToLowerInvariant() switch
            {
                "active" => FailoverRole.Active,
                "standby" => FailoverRole.Standby,
                var other => throw Error(e.Attribute("role")!, $"role must be active or standby, not '{other}'"),
            };
            var instance = ((string?)e.Attribute("instance"))?.Trim();
            if (instance is { Length: 0 or > 64 } || instance?.Any(char.IsControl) == true)
                throw Error(e.Attribute("instance")!, "instance must be a short name for this instance (1 to 64 characters, shown in transcripts and reports), such as archive-b");
            var retry = Duration(e, "retry", TimeSpan.FromSeconds(2));
            if (retry < TimeSpan.FromMilliseconds(500) || retry > TimeSpan.FromMinutes(1))
                throw Error(e.Attribute("retry")!, $"retry must be between 0.5s and 1m (the longest the component stays away at a failover; Prosody logs each refused attempt), not '{(string?)e.Attribute("retry")}'");
            return new FailoverSettings { Role = role, Instance = instance ?? Environment.MachineName, Retry = retry };
        }
    }
}

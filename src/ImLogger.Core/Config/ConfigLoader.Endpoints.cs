using System.Xml.Linq;
using ImLogger.Endpoints;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>&lt;endpoints plugins="..."&gt;</c>: one element per endpoint, read by its type's registration
        /// (<see cref="EndpointCatalog"/>): a built-in type's element (<c>&lt;directory&gt;</c>), or
        /// <c>&lt;endpoint plugin="..." type="..."&gt;</c> for a type from a plug-in.</summary>
        private Dictionary<string, (EndpointConfig Config, XElement Node)> ReadEndpoints(XElement e)
        {
            Only(e, ["plugins", "retry-for"], [.. EndpointCatalog.BuiltInNames, "endpoint"]);
            var plugins = (string?)e.Attribute("plugins") is { } folder ? ResolvePath(folder) : EndpointCatalog.DefaultPluginsFolder;
            var result = new Dictionary<string, (EndpointConfig, XElement)>(StringComparer.Ordinal);
            foreach (var d in e.Elements())
            {
                var name = Required(d, "name");
                if (name.Any(char.IsWhiteSpace) || name.Length == 0)
                    throw Error(d, $"endpoint name '{name}' must not contain spaces");
                if (result.TryGetValue(name, out var other))
                    throw Error(d, $"endpoint name '{name}' is already used at line {Line(other.Item2)}; endpoint names must be unique");
                result[name] = (ReadEndpoint(d, name, plugins), d);
            }
            if (result.Count == 0)
                throw Error(e, "no endpoint is defined; add one, e.g. <directory name=\"local-archive\" path=\"/var/lib/imlogger/archive\"/>");
            return result;
        }

        /// <summary><c>&lt;endpoints retry-for="7d"&gt;</c>: how long transient failures are retried (capped exponential
        /// backoff, up to 10 minutes apart) before a transcript becomes a dead letter. At least an hour (a shorter one turns
        /// a restart of the archive into dead letters), at most a year.</summary>
        private TimeSpan ReadRetryFor(XElement e)
        {
            var retryFor = Duration(e, "retry-for", ImLoggerConfig.DefaultRetryFor);
            if (retryFor < TimeSpan.FromHours(1) || retryFor > TimeSpan.FromDays(366))
                throw Error(e.Attribute("retry-for")!, $"retry-for must be between 1h and 366d (7d by default), not '{e.Attribute("retry-for")!.Value}': " +
                                                       "it is how long an endpoint may be down before its transcripts become dead letters");
            return retryFor;
        }

        private EndpointConfig ReadEndpoint(XElement d, string name, string pluginsFolder)
        {
            EndpointType type;
            string origin;
            if (d.Name.LocalName == "endpoint")
            {
                var plugin = Required(d, "plugin").Trim();
                try
                {
                    type = EndpointCatalog.Plugin(pluginsFolder, plugin, (string?)d.Attribute("type"));
                }
                catch (PluginException x)
                {
                    throw Error(d.Attribute("plugin")!, x.Message);
                }
                origin = $"plugin '{plugin}'";
            }
            else
            {
                foreach (var only in new[] { "plugin", "type" })
                    if (d.Attribute(only) is { } a)
                        throw Error(a, $"<{d.Name.LocalName}> is a built-in endpoint type and has no '{only}' attribute; a plug-in's endpoint is written <endpoint name=\"...\" plugin=\"...\" type=\"...\">");
                type = EndpointCatalog.BuiltIn(d.Name.LocalName) ?? throw Error(d, $"unknown endpoint type <{d.Name.LocalName}>");
                origin = $"endpoint type {type.TypeName}";
            }
            EndpointConfig config;
            try
            {
                config = type.Read(new ConfigElement(this, d, name));
            }
            catch (ConfigException)
            {
                throw;
            }
            catch (Exception x) when (x is not OutOfMemoryException)
            {
                // A plug-in's reader that fails in its own way: the config is refused at this endpoint, with the cause.
                throw Error(d, $"{origin} failed to read endpoint '{name}': {x.GetType().Name}: {x.Message}");
            }
            if (config is null || config.GetType() != type.ConfigType || config.Name != name)
                throw Error(d, $"{origin} read endpoint '{name}' into {(config is null ? "nothing" : $"{config.GetType().Name} named '{config.Name}'")}; " +
                               $"it must return its {type.ConfigType.Name} with Name = element.Name");
            return config with { MaxAttempts = d.Attribute("max-attempts") == null ? null : Int(d, "max-attempts", 20, 1, 1000) };
        }

        private bool ReadsSecrets => readSecrets;

        /// <summary>The endpoint element as a registration reads it, errors placed in this config file.</summary>
        private sealed class ConfigElement(Reader reader, XElement element, string name) : EndpointElement
        {
            public override XElement Element => element;

            public override string Name => name;

            public override bool ReadsSecrets => reader.ReadsSecrets;

            public override Exception Error(XObject at, string problem) => reader.Error(at, problem);

            public override string ResolvePath(string path) => reader.ResolvePath(path);

            public override TimeSpan Duration(string attribute, TimeSpan fallback) => reader.Duration(element, attribute, fallback);

            public override SecretText? Secret(string fileAttribute, string environmentAttribute, string what) =>
                reader.ReadSecret(element, fileAttribute, environmentAttribute, what);
        }

        /// <summary>A secret from a file or an environment variable named by two attributes (never the config itself).</summary>
        private SecretText? ReadSecret(XElement d, string fileAttribute, string environmentAttribute, string what)
        {
            var env = d.Attribute(environmentAttribute);
            var file = d.Attribute(fileAttribute);
            if (env != null && file != null)
                throw Error(file, $"give only one of {fileAttribute} and {environmentAttribute}");
            if (!readSecrets && (env ?? file) is { } from)
                return SecretText.Unread(env != null ? $"environment variable {from.Value}" : $"file {ResolvePath(from.Value)}");
            if (env != null)
            {
                var value = environment(env.Value);
                if (string.IsNullOrEmpty(value))
                    throw Error(env, $"the {what} is read from environment variable {env.Value}, which is not set or empty; export it before starting ImLogger");
                return new SecretText(value, $"environment variable {env.Value}");
            }
            if (file != null)
            {
                var path = ResolvePath(file.Value);
                string value;
                try { value = File.ReadAllText(path).TrimEnd('\r', '\n'); }
                catch (Exception x) when (x is IOException or UnauthorizedAccessException)
                {
                    throw Error(file, $"cannot read the {what} from file {path}: {x.Message}");
                }
                if (value.Length == 0) throw Error(file, $"the {what} file {path} is empty");
                return new SecretText(value, $"file {path}");
            }
            return null;
        }
    }
}

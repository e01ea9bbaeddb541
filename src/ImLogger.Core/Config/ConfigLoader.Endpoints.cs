using System.Globalization;
using System.Xml.Linq;
using MimeKit;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        private static readonly string[] EndpointTypes = ["directory", "secure-smtp", "global-relay", "drc-cm"];

        private static readonly string[] SmtpAttributes =
        [
            "name", "host", "port", "tls", "insecure-plaintext-for-lab-only", "username", "password-file", "password-env", "password",
            "from", "to", "ca-file", "timeout", "max-attempts", "max-message-size", "deadline",
        ];

        private EndpointConfig ReadEndpoint(XElement d, string name) => d.Name.LocalName switch
        {
            "directory" => ReadDirectory(d, name),
            "secure-smtp" => ReadSmtp(d, ["subject"], new SecureSmtpEndpointConfig
            {
                Name = name, Host = "", Port = 0, Tls = SmtpTlsMode.StartTls, From = "", To = [],
                SubjectTemplate = SubjectTemplate(d),
            }),
            "global-relay" => ReadSmtp(d, ["msg-type", "address", "max-eml-bytes"], new GlobalRelayEndpointConfig
            {
                Name = name, Host = "", Port = 0, Tls = SmtpTlsMode.StartTls, From = "", To = [],
                MessageType = HeaderToken(d, "msg-type", "XMPP"),
                AddressTemplate = AddressTemplate(d),
            }),
            "drc-cm" => ReadSmtp(d, ["subject"], new DrcCmEndpointConfig
            {
                Name = name, Host = "", Port = 0, Tls = SmtpTlsMode.StartTls, From = "", To = [],
                SubjectTemplate = SubjectTemplate(d),
            }),
            _ => throw Error(d, $"unknown endpoint type <{d.Name.LocalName}>"),
        };

        private DirectoryEndpointConfig ReadDirectory(XElement d, string name)
        {
            Only(d, ["name", "path", "max-attempts"], []);
            return new DirectoryEndpointConfig { Name = name, Path = ResolvePath(Required(d, "path")), MaxAttempts = MaxAttempts(d) };
        }

        /// <summary>The attributes all SMTP types share, filled into <paramref name="typed"/> (which carries the type's own).</summary>
        private T ReadSmtp<T>(XElement d, string[] own, T typed) where T : SmtpEndpointConfig
        {
            Only(d, [.. SmtpAttributes, .. own], []);
            if (d.Attribute("password") is { } inline)
                throw Error(inline, "the SMTP password must not be written in the config itself; put it in a file (password-file=\"/etc/imlogger/smtp.password\", readable only by the imlogger user) or an environment variable (password-env=\"IMLOGGER_SMTP_PASSWORD\")");

            var host = Required(d, "host").Trim();
            var insecure = d.Attribute("insecure-plaintext-for-lab-only");
            var tlsAttr = d.Attribute("tls");
            SmtpTlsMode tls;
            int port;
            if (insecure != null)
            {
                if (insecure.Value.Trim() != "yes")
                    throw Error(insecure, "insecure-plaintext-for-lab-only must be \"yes\" (or be left out, which keeps TLS on)");
                if (tlsAttr != null)
                    throw Error(tlsAttr, "tls and insecure-plaintext-for-lab-only contradict each other; remove one");
                tls = SmtpTlsMode.InsecurePlaintext;
                port = Int(d, "port", 25, 1, 65535);
            }
            else
            {
                port = Int(d, "port", tlsAttr?.Value.Trim() == "implicit" ? 465 : 587, 1, 65535);
                tls = tlsAttr?.Value.Trim() switch
                {
                    null => port == 465 ? SmtpTlsMode.Implicit : SmtpTlsMode.StartTls,
                    "starttls" => SmtpTlsMode.StartTls,
                    "implicit" => SmtpTlsMode.Implicit,
                    "none" or "off" or "plain" or "no" =>
                        throw Error(tlsAttr, "transcripts are never sent in plain text to a production server; for a lab server without TLS write insecure-plaintext-for-lab-only=\"yes\" instead of tls"),
                    _ => throw Error(tlsAttr, $"tls must be starttls (ports 25 and 587) or implicit (port 465), not '{tlsAttr.Value}'"),
                };
            }

            var username = (string?)d.Attribute("username");
            var password = ReadPassword(d);
            if ((username == null) != (password == null))
                throw Error(d, username == null
                    ? "a password is configured but no username; add username=\"...\" or remove the password"
                    : "a username is configured but no password; add password-file=\"PATH\" or password-env=\"VARIABLE\"");

            var caFile = (string?)d.Attribute("ca-file") is { } ca ? ResolvePath(ca) : null;
            if (caFile != null && !File.Exists(caFile))
                throw Error(d.Attribute("ca-file")!, $"the CA file {caFile} does not exist; give the PEM file of the CA that signed the server's certificate");

            return typed with
            {
                Host = host,
                Port = port,
                Tls = tls,
                Username = username,
                Password = password,
                From = Address(d.Attribute("from") ?? throw Error(d, $"<{d.Name.LocalName}> needs a non-empty 'from' attribute")),
                To = Addresses(d.Attribute("to") ?? throw Error(d, $"<{d.Name.LocalName}> needs a non-empty 'to' attribute")),
                CaFile = caFile,
                Timeout = Duration(d, "timeout", TimeSpan.FromSeconds(60)),
                Deadline = d.Attribute("deadline") is null ? null : Duration(d, "deadline", TimeSpan.Zero),
                MaxAttempts = MaxAttempts(d),
                MaxMessageBytes = MaxMessageSize(d, typed.MaxMessageBytes),
            };
        }

        /// <summary>max-message-size ("10MB", "512KB", "10240000"), or global-relay's older max-eml-bytes (bytes only);
        /// never above the type's default when that is a published hard limit (Global Relay's 250 MB).</summary>
        private long MaxMessageSize(XElement d, long typeDefault)
        {
            var size = d.Attribute("max-message-size");
            var eml = d.Attribute("max-eml-bytes");
            if (size != null && eml != null)
                throw Error(eml, "give only one of max-message-size and max-eml-bytes (the older name of the same setting)");
            var max = d.Name.LocalName == "global-relay" ? GlobalRelayEndpointConfig.MaxEmlBytes : 4L * 1024 * 1024 * 1024;
            if (eml != null) return Long(d, "max-eml-bytes", typeDefault, SmtpEndpointConfig.MinMaxMessageBytes, max);
            if (size == null) return typeDefault;
            if (!TryParseByteSize(size.Value, out var bytes) || bytes < SmtpEndpointConfig.MinMaxMessageBytes || bytes > max)
                throw Error(size, $"max-message-size must be a size such as 10MB, 512KB or 10240000 (bytes), from 64KB to {max / (1024 * 1024)}MB, not '{size.Value}'");
            return bytes;
        }

        /// <summary>"10240000", "10MB", "10 MiB", "512KB", "1G": K, M and G count in 1024s (as Postfix and Exchange
        /// show their limits), with an optional B or iB.</summary>
        internal static bool TryParseByteSize(string text, out long bytes)
        {
            bytes = 0;
            var t = text.Trim();
            var digits = 0;
            while (digits < t.Length && char.IsAsciiDigit(t[digits])) digits++;
            if (digits == 0 || digits > 12 || !long.TryParse(t[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return false;
            long factor = t[digits..].Trim().ToUpperInvariant() switch
            {
                "" or "B" => 1,
                "K" or "KB" or "KIB" => 1024,
                "M" or "MB" or "MIB" => 1024 * 1024,
                "G" or "GB" or "GIB" => 1024 * 1024 * 1024,
                _ => 0,
            };
            if (factor == 0 || number > long.MaxValue / factor) return false;
            bytes = number * factor;
            return true;
        }

        private SecretText? ReadPassword(XElement d)
        {
            var env = d.Attribute("password-env");
            var file = d.Attribute("password-file");
            if (env != null && file != null)
                throw Error(file, "give only one of password-file and password-env");
            if (!readSecrets && (env ?? file) is { } from)
                return SecretText.Unread(env != null ? $"environment variable {from.Value}" : $"file {ResolvePath(from.Value)}");
            if (env != null)
            {
                var value = environment(env.Value);
                if (string.IsNullOrEmpty(value))
                    throw Error(env, $"the SMTP password is read from environment variable {env.Value}, which is not set or empty; export it before starting ImLogger");
                return new SecretText(value, $"environment variable {env.Value}");
            }
            if (file != null)
            {
                var path = ResolvePath(file.Value);
                string value;
                try { value = File.ReadAllText(path).TrimEnd('\r', '\n'); }
                catch (Exception x) when (x is IOException or UnauthorizedAccessException)
                {
                    throw Error(file, $"cannot read the SMTP password from file {path}: {x.Message}");
                }
                if (value.Length == 0) throw Error(file, $"the SMTP password file {path} is empty");
                return new SecretText(value, $"file {path}");
            }
            return null;
        }

        private string Address(XAttribute a) => Address(a, a.Value);

        private string Address(XAttribute a, string value)
        {
            var v = value.Trim();
            if (!MailboxAddress.TryParse(v, out var mailbox) || !mailbox.Address.Contains('@') || mailbox.Address.Any(char.IsWhiteSpace))
                throw Error(a, $"{a.Name.LocalName} must be an e-mail address such as archive@example.com, not '{value}'");
            return mailbox.Address;
        }

        private IReadOnlyList<string> Addresses(XAttribute a)
        {
            var parts = a.Value.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0) throw Error(a, $"{a.Name.LocalName} needs at least one e-mail address");
            return parts.Select(p => Address(a, p)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        }

        private static readonly string[] SubjectPlaceholders = ["{conversation}", "{participants}", "{messages}", "{start}", "{end}", "{type}"];

        private string? SubjectTemplate(XElement d)
        {
            var a = d.Attribute("subject");
            if (a == null) return null;
            if (a.Value.Any(char.IsControl))
                throw Error(a, "subject must be one line");
            var rest = a.Value;
            foreach (var p in SubjectPlaceholders) rest = rest.Replace(p, "", StringComparison.Ordinal);
            if (rest.Contains('{') || rest.Contains('}'))
                throw Error(a, $"subject has an unknown placeholder; known: {string.Join(", ", SubjectPlaceholders)}");
            return a.Value;
        }

        private string AddressTemplate(XElement d)
        {
            var a = d.Attribute("address");
            if (a == null) return "{jid}";
            var sample = a.Value.Replace("{jid}", "user@example.test").Replace("{local}", "user").Replace("{domain}", "example.test");
            if (sample.Contains('{') || !MailboxAddress.TryParse(sample, out var m) || !m.Address.Contains('@'))
                throw Error(a, $"address must turn a JID into an e-mail address using {{jid}}, {{local}} and {{domain}} (e.g. \"{{local}}@example.com\"), not '{a.Value}'");
            return a.Value;
        }

        /// <summary>A header value that stays a single token (it is written into a header verbatim).</summary>
        private string HeaderToken(XElement d, string attribute, string fallback)
        {
            var a = d.Attribute(attribute);
            if (a == null) return fallback;
            var v = a.Value.Trim();
            if (v.Length == 0 || v.Length > 64 || !v.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                throw Error(a, $"{attribute} must be 1 to 64 letters, digits, '-', '_' or '.', not '{a.Value}'");
            return v;
        }

        private int? MaxAttempts(XElement d) => d.Attribute("max-attempts") == null ? null : Int(d, "max-attempts", 20, 1, 1000);

    }
}

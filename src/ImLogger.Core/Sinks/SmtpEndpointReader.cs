using System.Globalization;
using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Endpoints;
using MimeKit;

namespace ImLogger.Sinks;

/// <summary>Reads what every SMTP endpoint type shares from its config element (host, TLS, login, addresses, limits).</summary>
internal static class SmtpEndpointReader
{
    private static readonly string[] SmtpAttributes =
    [
        "host", "port", "tls", "insecure-plaintext-for-lab-only", "username", "password-file", "password-env", "password",
        "from", "to", "ca-file", "timeout", "max-message-size", "deadline",
    ];

    /// <summary>The attributes all SMTP types share, filled into <paramref name="typed"/> (which carries the type's own,
    /// named in <paramref name="own"/>).</summary>
    public static T Read<T>(EndpointElement e, string[] own, T typed) where T : SmtpEndpointConfig
    {
        e.Only([.. SmtpAttributes, .. own]);
        var d = e.Element;
        if (d.Attribute("password") is { } inline)
            throw e.Error(inline, "the SMTP password must not be written in the config itself; put it in a file (password-file=\"/etc/imlogger/smtp.password\", readable only by the imlogger user) or an environment variable (password-env=\"IMLOGGER_SMTP_PASSWORD\")");

        var host = e.Required("host").Trim();
        var insecure = d.Attribute("insecure-plaintext-for-lab-only");
        var tlsAttr = d.Attribute("tls");
        SmtpTlsMode tls;
        int port;
        if (insecure != null)
        {
            if (insecure.Value.Trim() != "yes")
                throw e.Error(insecure, "insecure-plaintext-for-lab-only must be \"yes\" (or be left out, which keeps TLS on)");
            if (tlsAttr != null)
                throw e.Error(tlsAttr, "tls and insecure-plaintext-for-lab-only contradict each other; remove one");
            tls = SmtpTlsMode.InsecurePlaintext;
            port = (int)e.Number("port", 25, 1, 65535);
        }
        else
        {
            port = (int)e.Number("port", tlsAttr?.Value.Trim() == "implicit" ? 465 : 587, 1, 65535);
            tls = tlsAttr?.Value.Trim() switch
            {
                null => port == 465 ? SmtpTlsMode.Implicit : SmtpTlsMode.StartTls,
                "starttls" => SmtpTlsMode.StartTls,
                "implicit" => SmtpTlsMode.Implicit,
                "none" or "off" or "plain" or "no" =>
                    throw e.Error(tlsAttr, "transcripts are never sent in plain text to a production server; for a lab server without TLS write insecure-plaintext-for-lab-only=\"yes\" instead of tls"),
                _ => throw e.Error(tlsAttr, $"tls must be starttls (ports 25 and 587) or implicit (port 465), not '{tlsAttr.Value}'"),
            };
        }

        var username = e.Optional("username");
        var password = e.Secret("password-file", "password-env", "SMTP password");
        if ((username == null) != (password == null))
            throw e.Error(d, username == null
                ? "a password is configured but no username; add username=\"...\" or remove the password"
                : "a username is configured but no password; add password-file=\"PATH\" or password-env=\"VARIABLE\"");

        var caFile = e.Optional("ca-file") is { } ca ? e.ResolvePath(ca) : null;
        if (caFile != null && !File.Exists(caFile))
            throw e.Error(d.Attribute("ca-file")!, $"the CA file {caFile} does not exist; give the PEM file of the CA that signed the server's certificate");

        return typed with
        {
            Name = e.Name,
            Host = host,
            Port = port,
            Tls = tls,
            Username = username,
            Password = password,
            From = Address(e, d.Attribute("from") ?? throw e.Error(d, $"<{d.Name.LocalName}> needs a non-empty 'from' attribute")),
            To = Addresses(e, d.Attribute("to") ?? throw e.Error(d, $"<{d.Name.LocalName}> needs a non-empty 'to' attribute")),
            CaFile = caFile,
            Timeout = e.Duration("timeout", TimeSpan.FromSeconds(60)),
            Deadline = d.Attribute("deadline") is null ? null : e.Duration("deadline", TimeSpan.Zero),
            MaxMessageBytes = MaxMessageSize(e, typed.MaxMessageBytes),
        };
    }

    /// <summary>max-message-size ("10MB", "512KB", "10240000"), or global-relay's older max-eml-bytes (bytes only);
    /// never above the type's default when that is a published hard limit (Global Relay's 250 MB).</summary>
    private static long MaxMessageSize(EndpointElement e, long typeDefault)
    {
        var size = e.Element.Attribute("max-message-size");
        var eml = e.Element.Attribute("max-eml-bytes");
        if (size != null && eml != null)
            throw e.Error(eml, "give only one of max-message-size and max-eml-bytes (the older name of the same setting)");
        var max = e.Element.Name.LocalName == "global-relay" ? GlobalRelayEndpointConfig.MaxEmlBytes : 4L * 1024 * 1024 * 1024;
        if (eml != null) return e.Number("max-eml-bytes", typeDefault, SmtpEndpointConfig.MinMaxMessageBytes, max);
        if (size == null) return typeDefault;
        if (!TryParseByteSize(size.Value, out var bytes) || bytes < SmtpEndpointConfig.MinMaxMessageBytes || bytes > max)
            throw e.Error(size, $"max-message-size must be a size such as 10MB, 512KB or 10240000 (bytes), from 64KB to {max / (1024 * 1024)}MB, not '{size.Value}'");
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

    private static string Address(EndpointElement e, XAttribute a) => Address(e, a, a.Value);

    private static string Address(EndpointElement e, XAttribute a, string value)
    {
        var v = value.Trim();
        if (!MailboxAddress.TryParse(v, out var mailbox) || !mailbox.Address.Contains('@') || mailbox.Address.Any(char.IsWhiteSpace))
            throw e.Error(a, $"{a.Name.LocalName} must be an e-mail address such as archive@example.com, not '{value}'");
        return mailbox.Address;
    }

    private static List<string> Addresses(EndpointElement e, XAttribute a)
    {
        var parts = a.Value.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw e.Error(a, $"{a.Name.LocalName} needs at least one e-mail address");
        return parts.Select(p => Address(e, a, p)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    private static readonly string[] SubjectPlaceholders = ["{conversation}", "{participants}", "{messages}", "{start}", "{end}", "{type}"];

    /// <summary>The subject template (one line, known placeholders only), or null.</summary>
    public static string? SubjectTemplate(EndpointElement e)
    {
        var a = e.Element.Attribute("subject");
        if (a == null) return null;
        if (a.Value.Any(char.IsControl))
            throw e.Error(a, "subject must be one line");
        var rest = a.Value;
        foreach (var p in SubjectPlaceholders) rest = rest.Replace(p, "", StringComparison.Ordinal);
        if (rest.Contains('{') || rest.Contains('}'))
            throw e.Error(a, $"subject has an unknown placeholder; known: {string.Join(", ", SubjectPlaceholders)}");
        return a.Value;
    }

    /// <summary>Global Relay's address template: turns a JID into an e-mail address.</summary>
    public static string AddressTemplate(EndpointElement e)
    {
        var a = e.Element.Attribute("address");
        if (a == null) return "{jid}";
        var sample = a.Value.Replace("{jid}", "user@example.test").Replace("{local}", "user").Replace("{domain}", "example.test");
        if (sample.Contains('{') || !MailboxAddress.TryParse(sample, out var m) || !m.Address.Contains('@'))
            throw e.Error(a, $"address must turn a JID into an e-mail address using {{jid}}, {{local}} and {{domain}} (e.g. \"{{local}}@example.com\"), not '{a.Value}'");
        return a.Value;
    }

    /// <summary>A header value that stays a single token (it is written into a header verbatim).</summary>
    public static string HeaderToken(EndpointElement e, string attribute, string fallback)
    {
        var a = e.Element.Attribute(attribute);
        if (a == null) return fallback;
        var v = a.Value.Trim();
        if (v.Length == 0 || v.Length > 64 || !v.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw e.Error(a, $"{attribute} must be 1 to 64 letters, digits, '-', '_' or '.', not '{a.Value}'");
        return v;
    }
}

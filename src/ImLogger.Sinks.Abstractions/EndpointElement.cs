using System.Globalization;
using System.Xml.Linq;

namespace ImLogger.Endpoints;

/// <summary>
/// An endpoint's config element as its <see cref="EndpointType"/> reads it, with helpers whose errors name the config
/// file, the line and what is wrong (the config is then refused as a whole).
/// </summary>
/// <remarks>The loader has already read the attributes every endpoint shares (<c>name</c>, <c>max-attempts</c>, and a
/// plug-in endpoint's <c>plugin</c> and <c>type</c>) and sets <see cref="EndpointConfig.MaxAttempts"/> itself.</remarks>
public abstract class EndpointElement
{
    /// <summary>Attributes every endpoint element may carry, read by the loader.</summary>
    public static readonly IReadOnlyList<string> SharedAttributes = ["name", "max-attempts", "plugin", "type"];

    /// <summary>The element, with line information.</summary>
    public abstract XElement Element { get; }

    /// <summary>The endpoint's name (unique, no spaces).</summary>
    public abstract string Name { get; }

    /// <summary>Whether secrets are read (false for commands that run without them, such as check-config as another
    /// user): <see cref="Secret"/> then returns <see cref="SecretText.Unread"/>.</summary>
    public abstract bool ReadsSecrets { get; }

    /// <summary>The error to throw for a wrong setting: "file:line:column: problem". Say what to write instead.</summary>
    /// <param name="at">The attribute or element that is wrong.</param>
    /// <param name="problem">What is wrong and what to do.</param>
    public abstract Exception Error(XObject at, string problem);

    /// <summary>A path from the config made absolute (relative to the config file's folder, environment variables expanded).</summary>
    public abstract string ResolvePath(string path);

    /// <summary>A secret named by a file attribute or an environment-variable attribute (never written in the config
    /// itself); null when neither is given.</summary>
    /// <param name="fileAttribute">Attribute naming a file that holds the secret ("password-file").</param>
    /// <param name="environmentAttribute">Attribute naming an environment variable ("password-env").</param>
    /// <param name="what">What the secret is, for errors ("SMTP password").</param>
    public abstract SecretText? Secret(string fileAttribute, string environmentAttribute, string what);

    /// <summary>Refuses any attribute besides <see cref="SharedAttributes"/> and <paramref name="own"/>, and any child
    /// element or text, naming the allowed ones (catches typos).</summary>
    public void Only(params string[] own)
    {
        ArgumentNullException.ThrowIfNull(own);
        foreach (var a in Element.Attributes().Where(a => !a.IsNamespaceDeclaration))
            if (a.Name.NamespaceName.Length != 0 || !(own.Contains(a.Name.LocalName) || SharedAttributes.Contains(a.Name.LocalName)))
                throw Error(a, $"<{Element.Name.LocalName}> has no attribute '{a.Name.LocalName}'; allowed: {string.Join(", ", SharedAttributes.Where(s => s is "name" or "max-attempts" || Element.Attribute(s) != null).Concat(own))}");
        if (Element.Elements().FirstOrDefault() is { } child)
            throw Error(child, $"<{Element.Name.LocalName}> takes no child elements; use attributes");
        if (Element.Nodes().OfType<XText>().Any(t => !string.IsNullOrWhiteSpace(t.Value)))
            throw Error(Element, $"<{Element.Name.LocalName}> takes no text; use attributes");
    }

    /// <summary>An attribute's value, or null when absent.</summary>
    public string? Optional(string attribute) => (string?)Element.Attribute(attribute);

    /// <summary>A non-empty attribute.</summary>
    public string Required(string attribute)
    {
        var v = Optional(attribute);
        if (string.IsNullOrWhiteSpace(v)) throw Error(Element, $"<{Element.Name.LocalName}> needs a non-empty '{attribute}' attribute");
        return v;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>, or <paramref name="fallback"/> when absent.</summary>
    public long Number(string attribute, long fallback, long min, long max)
    {
        var a = Element.Attribute(attribute);
        if (a == null) return fallback;
        if (!long.TryParse(a.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw Error(a, $"{attribute} must be a whole number from {min} to {max}, not '{a.Value}'");
        return v;
    }

    /// <summary>A positive duration ("30s", "10m", "2h", "PT10M"), or <paramref name="fallback"/> when absent.</summary>
    public abstract TimeSpan Duration(string attribute, TimeSpan fallback);
}

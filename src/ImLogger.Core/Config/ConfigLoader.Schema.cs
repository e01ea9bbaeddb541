using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    /// <summary>config/imlogger.xsd, embedded at build time, compiled once.</summary>
    private static readonly Lazy<XmlSchemaSet> Schema = new(() =>
    {
        using var stream = typeof(ConfigLoader).Assembly.GetManifestResourceStream("imlogger.xsd")
            ?? throw new InvalidOperationException("imlogger.xsd is not embedded in this build of ImLogger");
        var set = new XmlSchemaSet { XmlResolver = null };
        using var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
        set.Add(XmlSchema.Read(reader, null)!);
        set.Compile();
        return set;
    });

    /// <summary>The schema's text (what <c>imlogger check-config</c> validates against), for operators and editors.</summary>
    public static string SchemaText()
    {
        using var stream = typeof(ConfigLoader).Assembly.GetManifestResourceStream("imlogger.xsd")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The first place where the document breaks the schema, in words; null when it conforms.</summary>
    private static ConfigException? ValidateSchema(XDocument doc, string file)
    {
        ConfigException? first = null;
        doc.Validate(Schema.Value, (sender, args) =>
        {
            if (first != null) return;
            var info = sender as IXmlLineInfo;
            var (line, column) = info is { } i && i.HasLineInfo() ? (i.LineNumber, i.LinePosition) : (args.Exception.LineNumber, args.Exception.LinePosition);
            first = new ConfigException(file, line, column, Explain(sender as XObject, args.Message), args.Exception);
        });
        return first;
    }

    /// <summary>Turns the validator's English into ImLogger's: the element or attribute and what to write instead.</summary>
    private static string Explain(XObject? at, string message)
    {
        var element = at switch { XElement e => e, XAttribute a => a.Parent, _ => null };
        var name = element?.Name.LocalName ?? "?";
        if (InvalidChild().Match(message) is { Success: true } child)
            return $"unknown element <{child.Groups[2].Value}> inside <{child.Groups[1].Value}>" + Expected(message, "; expected one of: ");
        if (NotDeclared().Match(message) is { Success: true } attr)
            return $"<{name}> has no attribute '{attr.Groups[1].Value}'";
        if (MissingAttribute().Match(message) is { Success: true } missing)
            return $"<{name}> needs a '{missing.Groups[1].Value}' attribute";
        if (InvalidValue().Match(message) is { Success: true } value)
        {
            var described = DataType().Match(message) is { Success: true } type ? Describe(type.Groups[1].Value) : null;
            return described != null
                ? $"{value.Groups[1].Value} must be {described}, not '{(at as XAttribute)?.Value}'"
                : $"{value.Groups[1].Value} has a value the schema does not allow: {message}";
        }
        if (Incomplete().Match(message) is { Success: true })
            return $"<{name}> is incomplete" + Expected(message, "; it needs one of: ");
        if (message.Contains("cannot contain text", StringComparison.Ordinal) || message.Contains("text only", StringComparison.Ordinal))
            return $"<{name}> takes no text; use attributes";
        if (message.Contains("is not declared", StringComparison.Ordinal) && at is XElement root && root.Parent == null)
            return $"the root element must be <imlogger>, not <{root.Name.LocalName}>";
        return $"does not match the config schema (config/imlogger.xsd): {message}";
    }

    private static string Expected(string message, string prefix)
    {
        var m = ExpectedList().Match(message);
        return m.Success
            ? prefix + string.Join(", ", m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x => $"<{x}>"))
            : "";
    }

    /// <summary>A named simple type's documentation ("a whole number from 1 to 65535").</summary>
    private static string? Describe(string typeName) =>
        Schema.Value.GlobalTypes[new XmlQualifiedName(typeName)] is XmlSchemaSimpleType { Annotation: { } annotation }
            ? annotation.Items.OfType<XmlSchemaDocumentation>().SelectMany(d => d.Markup ?? []).OfType<XmlNode>().Select(n => n.Value).FirstOrDefault()?.Trim()
            : null;

    [GeneratedRegex("The element '([^']+)' has invalid child element '([^']+)'")]
    private static partial Regex InvalidChild();

    [GeneratedRegex("The '([^']+)' attribute is not declared")]
    private static partial Regex NotDeclared();

    [GeneratedRegex("The required attribute '([^']+)' is missing")]
    private static partial Regex MissingAttribute();

    [GeneratedRegex("The '([^']+)' attribute is invalid")]
    private static partial Regex InvalidValue();

    [GeneratedRegex("according to its datatype '([^']+)'")]
    private static partial Regex DataType();

    [GeneratedRegex("The element '([^']+)' has incomplete content")]
    private static partial Regex Incomplete();

    [GeneratedRegex("List of possible elements expected: '([^']+)'")]
    private static partial Regex ExpectedList();
}

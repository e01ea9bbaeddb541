using System.Globalization;
using System.Text;

namespace ImLogger.Classifier;

public static partial class CoverageCheck
{
    /// <summary>
    /// The trimmed alt texts of the <c>img</c> elements (any namespace, any prefix) of XML as <see cref="Domain.StanzaXml.Compact"/>
    /// writes it, read without building a tree; null for anything outside that plain form (a comment, CDATA, a processing
    /// instruction, an attribute in single quotes, an entity other than the five XML ones and character references, markup
    /// that does not close), which the caller then parses. It never guesses: it reads exactly what a parse would, or declines.
    /// </summary>
    internal static List<string>? ScannedImageAlts(string xml)
    {
        var alts = new List<string>();
        var open = new List<Range>(); // the elements open at this point, for the end tags to match
        var roots = 0;
        var i = 0;
        while (i < xml.Length)
        {
            var lt = xml.IndexOf('<', i);
            // Outside the one root element only white space (what a parse accepts).
            if (open.Count == 0 && !xml.AsSpan(i, (lt < 0 ? xml.Length : lt) - i).TrimStart(" \t\r\n").IsEmpty) return null;
            if (lt < 0) break;
            i = lt + 1;
            if (i >= xml.Length) return null;
            var c = xml[i];
            if (c is '!' or '?') return null;
            if (c == '/')
            {
                var close = xml.IndexOf('>', i);
                if (close < 0 || open.Count == 0) return null;
                var closing = xml.AsSpan(i + 1, close - i - 1).TrimEnd(" \t\r\n");
                if (!closing.SequenceEqual(xml.AsSpan(open[^1]))) return null;
                open.RemoveAt(open.Count - 1);
                i = close + 1;
                continue;
            }
            if (open.Count == 0 && roots++ > 0) return null;
            var nameStart = i;
            while (i < xml.Length && !IsXmlSpace(xml[i]) && xml[i] is not ('/' or '>' or '=' or '"' or '\'' or '<')) i++;
            if (i >= xml.Length || i == nameStart) return null;
            var name = xml.AsSpan(nameStart, i - nameStart);
            var colon = name.LastIndexOf(':');
            var isImage = name[(colon + 1)..].SequenceEqual("img");
            var alt = default(string);
            var selfClosing = false;
            // Attributes, up to the end of the tag.
            while (true)
            {
                while (i < xml.Length && IsXmlSpace(xml[i])) i++;
                if (i >= xml.Length) return null;
                if (xml[i] == '>') break;
                if (xml[i] == '/')
                {
                    if (i + 1 >= xml.Length || xml[i + 1] != '>') return null;
                    selfClosing = true;
                    i++;
                    break;
                }
                var attributeStart = i;
                while (i < xml.Length && xml[i] is not ('=' or '>' or '/' or '"' or '\'' or '<') && !IsXmlSpace(xml[i])) i++;
                if (i + 1 >= xml.Length || xml[i] != '=' || xml[i + 1] != '"' || i == attributeStart) return null;
                var attribute = xml.AsSpan(attributeStart, i - attributeStart);
                var valueStart = i + 2;
                var valueEnd = xml.IndexOf('"', valueStart);
                if (valueEnd < 0) return null;
                var raw = xml.AsSpan(valueStart, valueEnd - valueStart);
                if (raw.IndexOf('<') >= 0) return null;
                if (isImage && attribute.SequenceEqual("alt"))
                {
                    if (alt is not null || Unescaped(raw) is not { } value) return null;
                    alt = value;
                }
                i = valueEnd + 1;
                if (i < xml.Length && !IsXmlSpace(xml[i]) && xml[i] is not ('/' or '>')) return null;
            }
            i++;
            if (isImage) alts.Add((alt ?? "").Trim());
            if (!selfClosing) open.Add(new Range(nameStart, nameStart + name.Length));
        }
        return open.Count == 0 && roots == 1 ? alts : null;
    }

    private static bool IsXmlSpace(char c) => c is ' ' or '\t' or '\n' or '\r';

    /// <summary>An attribute value with its references replaced, and its white space as a parser normalises it (each tab,
    /// line end and space a space); null for a reference this does not know.</summary>
    private static string? Unescaped(ReadOnlySpan<char> raw)
    {
        if (raw.IndexOfAny('&', '\t', '\n') < 0 && raw.IndexOf('\r') < 0) return raw.ToString();
        var sb = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '\r')
            {
                // A parser reads "\r\n" and a lone "\r" as one line end, then normalises it to a space.
                if (i + 1 < raw.Length && raw[i + 1] == '\n') i++;
                sb.Append(' ');
                continue;
            }
            if (c is '\t' or '\n') { sb.Append(' '); continue; }
            if (c != '&') { sb.Append(c); continue; }
            var end = raw[i..].IndexOf(';');
            if (end < 0) return null;
            var entity = raw.Slice(i + 1, end - 1);
            i += end;
            switch (entity)
            {
                case "amp": sb.Append('&'); break;
                case "lt": sb.Append('<'); break;
                case "gt": sb.Append('>'); break;
                case "quot": sb.Append('"'); break;
                case "apos": sb.Append('\''); break;
                default:
                    if (entity.Length < 2 || entity[0] != '#') return null;
                    var hex = entity[1] is 'x';
                    if (!int.TryParse(entity[(hex ? 2 : 1)..], hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var code)
                        || code is < 1 or > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF)
                        return null;
                    sb.Append(char.ConvertFromUtf32(code));
                    break;
            }
        }
        return sb.ToString();
    }
}

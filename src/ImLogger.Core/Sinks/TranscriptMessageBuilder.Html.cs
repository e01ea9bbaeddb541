using System.Text;
using System.Xml.Linq;
using Ganss.Xss;
using ImLogger.Conversations;

namespace ImLogger.Sinks;

/// <summary>The sender's formatting (XEP-0071 XHTML-IM), shown in the HTML part beside the plain text.</summary>
public sealed partial class TranscriptMessageBuilder
{
    /// <summary>
    /// Emphasis, lists, quotes, links and colours survive; everything else is removed by HtmlSanitizer (a maintained
    /// sanitizer built on a real HTML parser). Images are not in the list: an archive reader's mail client must not fetch
    /// a remote image a chat user chose (tracking), and emoticons are replaced by their alt text before sanitising.
    /// </summary>
    private static readonly HtmlSanitizer Sanitizer = new(new HtmlSanitizerOptions
    {
        AllowedTags = new HashSet<string>(["p", "br", "b", "strong", "i", "em", "u", "s", "span", "a", "ul", "ol", "li", "blockquote", "q", "cite", "code", "pre"], StringComparer.OrdinalIgnoreCase),
        AllowedAttributes = new HashSet<string>(["href", "style"], StringComparer.OrdinalIgnoreCase),
        AllowedCssProperties = new HashSet<string>(["color", "background-color", "font-weight", "font-style", "text-decoration"], StringComparer.OrdinalIgnoreCase),
        AllowedSchemes = new HashSet<string>(["http", "https", "mailto", "xmpp"], StringComparer.OrdinalIgnoreCase),
        UriAttributes = new HashSet<string>(["href"], StringComparer.OrdinalIgnoreCase),
    });

    /// <summary>The sanitised XHTML-IM body of a message, as an HTML fragment (with its wrapper), or "" if it has none.</summary>
    internal static string FormattedHtml(ConversationEvent e)
    {
        if (string.IsNullOrEmpty(e.Html)) return "";
        var safe = SanitizeXhtml(e.Html);
        return safe.Length == 0 ? "" : "\n<div class=\"formatted\" title=\"as formatted by the sender's client (XHTML-IM)\">" + safe + "</div>";
    }

    /// <summary>Sanitised HTML for an XHTML-IM body; emoticon images become their alt text first.</summary>
    internal static string SanitizeXhtml(string xhtml)
    {
        string html;
        try
        {
            var body = XElement.Parse(xhtml, LoadOptions.PreserveWhitespace);
            foreach (var img in body.Descendants().Where(d => d.Name.LocalName == "img").ToList())
                img.ReplaceWith(new XText((string?)img.Attribute("alt") ?? "[image]"));
            // The children as HTML text: namespace declarations are attributes the sanitizer drops.
            var sb = new StringBuilder();
            foreach (var node in body.Nodes()) sb.Append(node.ToString(SaveOptions.DisableFormatting));
            html = sb.ToString();
        }
        catch (System.Xml.XmlException)
        {
            html = xhtml; // not XML: the sanitizer's HTML parser copes, and keeps nothing it does not allow
        }
        return Sanitizer.Sanitize(html).Trim();
    }
}

using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace ImLogger.Domain;

/// <summary>
/// An element as compact XML text: the same characters as <c>element.ToString(SaveOptions.DisableFormatting)</c>, written
/// through one writer per thread. <c>XElement.ToString(SaveOptions)</c> creates a new <see cref="XmlWriter"/> per
/// call, and each new writer allocates a 12 KB character buffer: on the ingest path (the raw XML of every event, the
/// XHTML of every formatted message) that buffer was most of the bytes allocated per stanza (docs/performance.md,
/// "Where the bytes go").
/// </summary>
public static class StanzaXml
{
    /// <summary>Text above this is not kept in the thread's buffer after the call (one huge stanza must not hold memory).</summary>
    private const int KeptCapacity = 64 * 1024;

    [ThreadStatic] private static StringBuilder? t_text;
    [ThreadStatic] private static XmlWriter? t_writer;

    /// <summary>Serialises <paramref name="element"/> without formatting, exactly as
    /// <c>element.ToString(SaveOptions.DisableFormatting)</c> does.</summary>
    /// <exception cref="ArgumentException">The element holds what XML cannot carry (half a surrogate pair): the same
    /// exception <c>XElement.ToString(SaveOptions)</c> throws; the thread's writer is replaced.</exception>
    public static string Compact(XElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        var text = t_text ??= new StringBuilder(1024);
        // Fragment conformance: element after element on one writer, each written whole with its own namespace
        // declarations (the writer's scope is back at the top after each), no declaration, no indentation.
        var writer = t_writer ??= XmlWriter.Create(new StringWriter(text, CultureInfo.InvariantCulture),
            new XmlWriterSettings { OmitXmlDeclaration = true, ConformanceLevel = ConformanceLevel.Fragment });
        text.Clear();
        try
        {
            element.WriteTo(writer);
            writer.Flush();
        }
        catch
        {
            // A writer that threw is in its error state for good: the next call starts a new one.
            t_writer = null;
            text.Clear();
            throw;
        }
        var result = text.ToString();
        text.Clear();
        if (text.Capacity > KeptCapacity)
        {
            // The writer holds the builder: both go, so that the next call starts small again.
            t_text = null;
            t_writer = null;
        }
        return result;
    }
}

using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace ImLogger.Xmpp;

/// <summary>
/// Builds each top-level stanza of one stream as an <see cref="XElement"/>, node by node, enforcing the per-stanza
/// limits while reading: past <see cref="StanzaLimits.MaxDepth"/> a subtree is skipped, past the size limit the rest of
/// the stanza is; skipped content is counted, never kept, and text is read in chunks, so a stanza of any size costs
/// bounded memory. The stanza is then delivered with the marks of <see cref="StanzaLimits"/>, and the stream goes on.
/// </summary>
/// <remarks>Built node by node rather than with XNode.ReadFrom, which reads past the end tag and would therefore wait
/// for the next stanza before returning this one. Per-connection failures are left to the hard limits: a token over
/// <see cref="ComponentConnectionOptions.MaxTokenBytes"/> (<see cref="CountingStream"/>) and nesting deeper than
/// <see cref="HardMaxDepth"/>, where the parser's own stack would grow without bound.</remarks>
internal sealed class StanzaReader(XmlReader reader, CountingStream counting, long maxBytes)
{
    /// <summary>Nesting the parser is not asked to follow: XmlReader keeps state per open element (about 100 bytes),
    /// so this bounds its memory near 10 MB. A client cannot get near it through Prosody, whose 256 KiB stanza limit
    /// allows about 37,000 levels.</summary>
    internal const int HardMaxDepth = 100_000;

    /// <summary>Attribute values of the element that crosses the size limit are kept up to this length.</summary>
    private const int CutAttributeChars = 1024;

    private readonly char[] _chunk = new char[4096];
    private readonly StringBuilder _sample = new();
    private readonly StringBuilder _text = new();
    private XElement? _sampleTarget;
    private bool _tooLarge;
    private bool _tooDeep;
    private int _deepest;

    /// <summary>Reads the next child of the stream element, or returns null at &lt;/stream:stream&gt;.</summary>
    public async Task<XElement?> ReadTopLevelAsync()
    {
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            counting.MarkToken();
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var element = await ReadElementAsync().ConfigureAwait(false);
                    counting.EndStanza();
                    return element;
                case XmlNodeType.EndElement:
                    return null;
                case XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    continue; // the server's whitespace keepalive
                default:
                    throw new ProtocolViolationException($"unexpected {reader.NodeType} directly inside the stream");
            }
        }
        throw new IOException("the server closed the connection without closing the stream");
    }

    private async Task<XElement> ReadElementAsync()
    {
        _tooLarge = _tooDeep = false;
        _deepest = 1;
        _sampleTarget = null;
        _sample.Clear();
        var root = StartElement(truncate: false);
        if (counting.StanzaBytes > maxBytes)
            CutForSize(root);
        if (reader.IsEmptyElement)
            return Finish(root);
        var current = root;
        var depth = 1;     // elements open, kept or skipped
        var skipTo = 0;    // inside a subtree too deep: the depth at which it ends
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            counting.MarkToken();
            // A subtree skipped for its depth still counts towards the size.
            if (skipTo > 0 && !_tooLarge && counting.StanzaBytes > maxBytes)
                CutForSize(current);
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var level = depth + 1;
                    if (!reader.IsEmptyElement)
                        depth = level;
                    _deepest = Math.Max(_deepest, level);
                    if (level > HardMaxDepth)
                        throw new ProtocolViolationException($"a stanza nested deeper than {HardMaxDepth} elements, which no XMPP server sends (the hard limit)");
                    if (_tooLarge || skipTo > 0)
                        break;
                    if (level > StanzaLimits.MaxDepth)
                    {
                        CutForDepth(current);
                        if (!reader.IsEmptyElement)
                            skipTo = level;
                        break;
                    }
                    var over = counting.StanzaBytes > maxBytes;
                    var child = StartElement(truncate: over);
                    current.Add(child);
                    if (over)
                        CutForSize(child);
                    if (!reader.IsEmptyElement)
                        current = child;
                    break;
                case XmlNodeType.EndElement:
                    if (skipTo == depth)
                    {
                        skipTo = 0;
                        EndSample();
                    }
                    else if (!_tooLarge && skipTo == 0 && current != root)
                    {
                        current = current.Parent!;
                    }
                    if (--depth == 0)
                        return Finish(root);
                    break;
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    await ReadTextAsync(current, keep: !_tooLarge && skipTo == 0).ConfigureAwait(false);
                    break;
                case XmlNodeType.EntityReference or XmlNodeType.DocumentType:
                    throw new ProtocolViolationException($"the server sent a {reader.NodeType}, which XMPP forbids");
            }
        }
        throw new IOException("the server closed the connection in the middle of a stanza");
    }

    /// <summary>Reads a text node in chunks (never the whole value at once): into <paramref name="current"/> while
    /// <paramref name="keep"/> and the stanza is within its size limit, else into the sample of the current cut.</summary>
    private async Task ReadTextAsync(XElement current, bool keep)
    {
        var text = keep ? _text.Clear() : null;
        int n;
        while ((n = await reader.ReadValueChunkAsync(_chunk, 0, _chunk.Length).ConfigureAwait(false)) > 0)
        {
            counting.MarkToken();
            if (text != null)
                text.Append(_chunk, 0, n);
            else
                Sample(n);
            if (!_tooLarge && counting.StanzaBytes > maxBytes)
            {
                if (text != null)
                    current.Add(text.ToString());
                text = null;
                CutForSize(current);
            }
        }
        if (text != null)
            current.Add(text.ToString());
        // Reused for every text node; a stanza's huge text must not stay allocated for the life of the connection.
        _text.Clear();
        if (_text.Capacity > 64 * 1024)
            _text.Capacity = 64 * 1024;
    }

    private void CutForSize(XElement at)
    {
        _tooLarge = true;
        StartSample(at, "size");
    }

    private void CutForDepth(XElement at)
    {
        _tooDeep = true;
        StartSample(at, "depth");
    }

    private void StartSample(XElement at, string reason)
    {
        EndSample();
        var cut = StanzaLimits.Mark(StanzaLimits.Cut);
        cut.SetAttributeValue("reason", reason);
        at.Add(cut);
        _sampleTarget = cut;
    }

    private void Sample(int n)
    {
        if (_sampleTarget != null && _sample.Length < StanzaLimits.SampleChars)
            _sample.Append(_chunk, 0, WholeCharacters(_chunk.AsSpan(0, n), StanzaLimits.SampleChars - _sample.Length));
    }

    /// <summary>At most <paramref name="max"/> chars of <paramref name="text"/>, never half a surrogate pair (an emoji cut
    /// in two cannot be serialised, and would fail every later stage that writes the stanza out).</summary>
    internal static int WholeCharacters(ReadOnlySpan<char> text, int max) =>
        text.Length <= max ? text.Length : max > 0 && char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;

    private void EndSample()
    {
        if (_sampleTarget != null && _sample.Length > 0)
            _sampleTarget.Add(_sample.ToString());
        _sample.Clear();
        _sampleTarget = null;
    }

    private XElement Finish(XElement root)
    {
        EndSample();
        if (!_tooLarge && !_tooDeep)
            return root;
        var mark = StanzaLimits.Mark(StanzaLimits.OverLimit);
        mark.SetAttributeValue("reason", _tooDeep && _tooLarge ? "depth size" : _tooLarge ? "size" : "depth");
        mark.SetAttributeValue("bytes", counting.StanzaBytes.ToString(CultureInfo.InvariantCulture));
        mark.SetAttributeValue("depth", _deepest.ToString(CultureInfo.InvariantCulture));
        mark.SetAttributeValue("max-bytes", maxBytes.ToString(CultureInfo.InvariantCulture));
        mark.SetAttributeValue("max-depth", StanzaLimits.MaxDepth.ToString(CultureInfo.InvariantCulture));
        root.Add(mark);
        return root;
    }

    /// <summary>The element the reader is on, with its attributes; <paramref name="truncate"/>: it crossed the size
    /// limit, so long attribute values are cut (its from, to, type and id are short and stay whole).</summary>
    private XElement StartElement(bool truncate)
    {
        var element = new XElement(XName.Get(reader.LocalName, reader.NamespaceURI));
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                // Keep namespace declarations so prefixes survive a round trip through the archive.
                if (reader.NamespaceURI == XNamespace.Xmlns.NamespaceName)
                {
                    element.Add(new XAttribute(reader.Prefix.Length == 0 ? XName.Get("xmlns") : XNamespace.Xmlns + reader.LocalName, reader.Value));
                    continue;
                }
                var value = reader.Value;
                if (truncate && value.Length > CutAttributeChars)
                    value = value[..WholeCharacters(value, CutAttributeChars)];
                element.Add(new XAttribute(XName.Get(reader.LocalName, reader.NamespaceURI), value));
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }
        return element;
    }
}

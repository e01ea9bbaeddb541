using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp;

public sealed partial class ComponentConnection
{
    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        Async = true,
        // XMPP forbids DTDs (RFC 6120 section 11.1); prohibiting them also rules out entity expansion attacks.
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersFromEntities = 0,
        // Comments and PIs are restricted XML, but they carry nothing we archive; skipping them is harmless.
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        CloseInput = false,
    };

    /// <summary>Reads the server's &lt;stream:stream&gt; header and returns its id.</summary>
    private static async Task<string> ReadStreamHeaderAsync(XmlReader reader, CountingStream counting)
    {
        var node = await reader.MoveToContentAsync().ConfigureAwait(false);
        if (node != XmlNodeType.Element || reader.LocalName != "stream" || reader.NamespaceURI != StreamError.StreamsNamespace.NamespaceName)
            throw new ProtocolViolationException($"expected a <stream:stream> header, got {node} '{reader.Name}'");
        var id = reader.GetAttribute("id");
        if (string.IsNullOrEmpty(id))
            throw new ProtocolViolationException("the server's stream header has no id, so no handshake is possible");
        counting.EndStanza();
        return id;
    }

    /// <summary>Hands stanzas to the caller one at a time until the server closes the stream.</summary>
    private async Task ReadLoopAsync(XmlReader reader, CountingStream counting, Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken token)
    {
        while (await ReadTopLevelAsync(reader, counting).ConfigureAwait(false) is { } element)
        {
            ThrowIfStreamError(element);
            if (element.Name.Namespace != AcceptNamespace || element.Name.LocalName is not ("message" or "presence" or "iq"))
            {
                _logger.LogWarning("Ignoring an unexpected top-level element <{Element}> from the server at {Endpoint}", element.Name, _endpoint);
                continue;
            }
            try
            {
                await onStanza(element, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                throw new StanzaHandlerException(ex);
            }
        }
    }

    /// <summary>
    /// Reads the next child of the stream element as an <see cref="XElement"/>, or returns null at &lt;/stream:stream&gt;.
    /// Built node by node rather than with XNode.ReadFrom, which reads past the end tag and would therefore wait
    /// for the next stanza before returning this one.
    /// </summary>
    private static async Task<XElement?> ReadTopLevelAsync(XmlReader reader, CountingStream counting)
    {
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    counting.BeginStanza();
                    var element = await ReadElementAsync(reader).ConfigureAwait(false);
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

    /// <summary>
    /// Deepest element nesting accepted in one stanza. Real stanzas nest a dozen levels (XHTML-IM bodies a few more);
    /// the size cap alone would let through ~100,000 levels in 1 MB, and later stages (serialisation, the HTML
    /// sanitiser) walk trees recursively, so such a stanza could exhaust the stack and take the process down.
    /// </summary>
    internal const int MaxStanzaDepth = 128;

    private static async Task<XElement> ReadElementAsync(XmlReader reader)
    {
        var root = StartElement(reader);
        if (reader.IsEmptyElement)
            return root;
        var current = root;
        var depth = 1;
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var child = StartElement(reader);
                    current.Add(child);
                    if (!reader.IsEmptyElement)
                    {
                        current = child;
                        if (++depth > MaxStanzaDepth)
                            throw new ProtocolViolationException($"a stanza nested deeper than {MaxStanzaDepth} elements");
                    }
                    break;
                case XmlNodeType.EndElement:
                    if (current == root)
                        return root;
                    current = current.Parent!;
                    depth--;
                    break;
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    // GetValueAsync: in async mode the sync Value getter may block on the socket for long text.
                    current.Add(await reader.GetValueAsync().ConfigureAwait(false));
                    break;
                case XmlNodeType.EntityReference or XmlNodeType.DocumentType:
                    throw new ProtocolViolationException($"the server sent a {reader.NodeType}, which XMPP forbids");
            }
        }
        throw new IOException("the server closed the connection in the middle of a stanza");
    }

    private static XElement StartElement(XmlReader reader)
    {
        var element = new XElement(XName.Get(reader.LocalName, reader.NamespaceURI));
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                // Keep namespace declarations so prefixes survive a round trip through the archive.
                if (reader.NamespaceURI == XNamespace.Xmlns.NamespaceName)
                    element.Add(new XAttribute(reader.Prefix.Length == 0 ? XName.Get("xmlns") : XNamespace.Xmlns + reader.LocalName, reader.Value));
                else
                    element.Add(new XAttribute(XName.Get(reader.LocalName, reader.NamespaceURI), reader.Value));
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }
        return element;
    }
}

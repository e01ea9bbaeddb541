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
    private async Task<string> ReadStreamHeaderAsync(XmlReader reader, CountingStream counting)
    {
        var node = await reader.MoveToContentAsync().ConfigureAwait(false);
        if (node != XmlNodeType.Element || reader.LocalName != "stream" || reader.NamespaceURI != StreamError.StreamsNamespace.NamespaceName)
            throw new ProtocolViolationException($"expected a <stream:stream> header, got {node} '{reader.Name}'");
        ThrowIfNotComponentStream(reader.LookupNamespace(string.Empty));
        var id = reader.GetAttribute("id");
        if (string.IsNullOrEmpty(id))
            throw new ProtocolViolationException("the server's stream header has no id, so no handshake is possible");
        counting.EndStanza();
        return id;
    }

    /// <summary>Hands stanzas to the caller one at a time until the server closes the stream.</summary>
    private async Task ReadLoopAsync(StanzaReader stanzas, Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken token)
    {
        while (await stanzas.ReadTopLevelAsync().ConfigureAwait(false) is { } element)
        {
            ThrowIfStreamError(element);
            if (StanzaLimits.Read(element) is { } over)
                _logger.LogWarning("The server at {Endpoint} sent a {Stanza} {Id} over a per-stanza limit ({Reason}: {Bytes} bytes, nested {Depth} deep; limits {MaxBytes} bytes, {MaxDepth} levels): " +
                                   "it is passed on alone, kept up to the limit and marked, and the stream goes on",
                    _endpoint, element.Name.LocalName, (string?)element.Attribute("id"),
                    over.TooLarge && over.TooDeep ? "too large and too deep" : over.TooLarge ? "too large" : "too deep",
                    over.Bytes, over.Depth, over.MaxBytes, over.MaxDepth);
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
}

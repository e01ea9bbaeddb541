using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security;
using System.Security.Cryptography;
using System.Text;
using System.Xml;

namespace ImLogger.Bench;

/// <summary>
/// The inline protocol's floor (issue 16, p99): an external component (XEP-0114) that answers every
/// <c>urn:imlogger:inline:0</c> request with an allow for each item the moment it has read the request, storing
/// nothing, classifying nothing. A column of the load table with it in ImLogger's place measures what holding a stanza
/// for a round trip to a component costs Prosody and the latency, whatever the component does: no component can answer
/// faster than one that does no work, so a p99 this column misses is out of reach of ImLogger's store.
/// Run as <c>imlogger-bench floor-component PORT JID</c>, the secret in IMLOGGER_COMPONENT_SECRET; it prints
/// "Connected to the XMPP server" after the handshake and, at SIGTERM, "N item(s) allowed this run".
/// It answers on the reading thread, in one write per request: one reader and no hand-off, the shortest path there is.
/// </summary>
internal static class FloorComponent
{
    private const string Inline = "urn:imlogger:inline:0";

    public static async Task<int> RunAsync(int port, string jid)
    {
        var secret = Environment.GetEnvironmentVariable("IMLOGGER_COMPONENT_SECRET") ?? "";
        long allowed = 0;
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port);
        var stream = tcp.GetStream();
        await Write(stream, $"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='{jid}'>", stop.Token);
        var settings = new XmlReaderSettings { Async = true, DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        // Not disposed: at SIGTERM a read is still pending on it (disposing it then throws); closing the socket ends both.
        var reader = XmlReader.Create(stream, settings);
        // The stanza being read: its name and attributes, and for a batch its items' ids.
        string? name = null, type = null, id = null, from = null;
        bool compact = false, batch = false;
        var items = new List<string>();
        try
        {
            while (await reader.ReadAsync().WaitAsync(stop.Token))
            {
                if (reader.NodeType == XmlNodeType.Element && reader.Depth == 0)
                {
                    var proof = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(reader.GetAttribute("id") + secret)));
                    await Write(stream, $"<handshake>{proof}</handshake>", stop.Token);
                    continue;
                }
                if (reader.NodeType == XmlNodeType.Element && reader.Depth == 1)
                {
                    (name, type, id, from) = (reader.LocalName, reader.GetAttribute("type"), reader.GetAttribute("id"), reader.GetAttribute("from"));
                    (compact, batch) = (false, false);
                    items.Clear();
                    if (!reader.IsEmptyElement) continue;
                }
                else if (reader.NodeType == XmlNodeType.Element && reader.Depth == 2 && reader.LocalName == "batch" && reader.NamespaceURI == Inline)
                {
                    (batch, compact) = (true, reader.GetAttribute("verdicts") == "compact");
                    continue;
                }
                else if (reader.NodeType == XmlNodeType.Element && reader.Depth == 3 && batch && reader.LocalName == "item")
                {
                    items.Add(reader.GetAttribute("id") ?? "");
                    continue;
                }
                else if (!(reader.NodeType == XmlNodeType.EndElement && reader.Depth == 1)) continue;

                // A whole stanza has been read.
                if (name == "handshake") Console.WriteLine("Connected to the XMPP server (floor component: answers every item with allow, stores nothing)");
                else if (name == "iq" && type is "set" or "get" && id != null)
                {
                    await Write(stream, Answer(jid, id, from, batch ? items : null, compact), stop.Token);
                    if (batch) allowed += items.Count;
                }
                name = null;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (IOException) when (stop.IsCancellationRequested) { }
        Console.WriteLine($"{allowed} item(s) allowed this run");
        tcp.Close();
        return 0;
    }

    /// <summary>The result for an iq: allows for a batch's items (compact if asked), else an empty result (heartbeats).</summary>
    private static string Answer(string jid, string id, string? from, List<string>? items, bool compact)
    {
        var head = $"<iq type='result' id='{SecurityElement.Escape(id)}' from='{jid}' to='{SecurityElement.Escape(from ?? "")}'>";
        if (items == null) return head + "</iq>";
        if (compact) return head + $"<verdicts xmlns='{Inline}' allow='{string.Join(' ', items.Select(SecurityElement.Escape))}'/></iq>";
        var text = new StringBuilder(head).Append($"<verdicts xmlns='{Inline}'>");
        foreach (var item in items) text.Append($"<allow item='{SecurityElement.Escape(item)}'/>");
        return text.Append("</verdicts></iq>").ToString();
    }

    private static async Task Write(NetworkStream stream, string text, CancellationToken ct) =>
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct);
}

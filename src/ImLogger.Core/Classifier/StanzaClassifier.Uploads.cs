using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    private static readonly XNamespace HttpUpload = "urn:xmpp:http:upload:0";
    private const int UploadsKept = 4096;

    /// <summary>XEP-0363 slot requests of logged users not yet answered: "requester id" -> what they announced.</summary>
    private readonly Dictionary<string, UploadedFile> _slotRequests = new(StringComparer.Ordinal);

    /// <summary>Granted slots by their GET URL, the link the client then shares: what the requester announced.</summary>
    private readonly Dictionary<string, UploadedFile> _uploads = new(StringComparer.Ordinal);
    private readonly Queue<string> _uploadOrder = new();

    private sealed record UploadedFile(string? Name, long? Size, string? MediaType);

    /// <summary>
    /// Follows a logged user's XEP-0363 exchange with the upload service (their slot request announces the file's name,
    /// size and media type; the service's answer gives the GET URL), so that the link they share later is archived with
    /// the size. Learns only from the requester's own request and the answer addressed to them, matched by id.
    /// </summary>
    private void ObserveUpload(TapEnvelope env, string from, string to)
    {
        var s = env.Stanza;
        if (s.Name.LocalName != "iq") return;
        var type = (string?)s.Attribute("type");
        var id = (string?)s.Attribute("id");
        if (id == null) return;
        if (type == "get" && s.Element(HttpUpload + "request") is { } request && isLogged(JidText.Bare(from)))
        {
            if (_slotRequests.Count >= UploadsKept) _slotRequests.Clear(); // unanswered requests: a flood, not uploads
            _slotRequests[from + " " + id] = new UploadedFile((string?)request.Attribute("filename"),
                ParseSize((string?)request.Attribute("size")), (string?)request.Attribute("content-type"));
        }
        else if (type == "result" && s.Element(HttpUpload + "slot")?.Element(HttpUpload + "get")?.Attribute("url")?.Value is { } url
                 && _slotRequests.Remove(to + " " + id, out var file))
        {
            if (_uploads.TryAdd(url, file)) _uploadOrder.Enqueue(url);
            while (_uploadOrder.Count > UploadsKept) _uploads.Remove(_uploadOrder.Dequeue());
        }
    }

    /// <summary>The size a logged user announced when they asked for the slot behind <paramref name="url"/>, if seen.</summary>
    private long? UploadedSize(string? url) => url != null && _uploads.TryGetValue(url, out var f) ? f.Size : null;
}

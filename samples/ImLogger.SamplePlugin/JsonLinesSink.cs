using System.Text.Json;
using ImLogger.Domain;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging;

namespace ImLogger.SamplePlugin;

/// <summary>Writes a transcript as <c>TRANSCRIPT-ID.jsonl</c>: a first line about the conversation, then one line per event.</summary>
/// <remarks>Idempotent as the contract asks: the file is written under a temporary name, synced and renamed over any
/// earlier copy of the same transcript, so a redelivery replaces it rather than adding a second one.</remarks>
public sealed class JsonLinesSink(JsonLinesEndpointConfig config, ILogger<JsonLinesSink> logger) : ITranscriptSink
{
    /// <inheritdoc />
    public string Name => config.Name;

    /// <inheritdoc />
    public async Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        if (transcript.Id.Length == 0 || transcript.Id.Any(c => !char.IsAsciiLetterOrDigit(c)))
            throw new SinkException($"transcript id '{transcript.Id}' cannot name a file", SinkFailure.Permanent);
        var path = Path.Combine(config.Folder, transcript.Id + ".jsonl");
        var temp = path + ".tmp";
        try
        {
            Directory.CreateDirectory(config.Folder);
            await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await using (var json = new Utf8JsonWriter(stream))
                {
                    Conversation(json, transcript);
                    foreach (var e in transcript.Events)
                    {
                        await json.FlushAsync(cancellationToken);
                        stream.WriteByte((byte)'\n');
                        json.Reset();
                        Event(json, e);
                    }
                }
                stream.WriteByte((byte)'\n');
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SinkException($"cannot write {path}: {e.Message}", SinkFailure.Transient, e);
        }
        logger.LogDebug("Transcript {Id} written to {Path}", transcript.Id, path);
        return $"written to {path}";
    }

    private static void Conversation(Utf8JsonWriter json, Transcript t)
    {
        json.WriteStartObject();
        json.WriteString("transcript", t.Id);
        json.WriteString("type", t.ConversationType switch
        {
            ConversationType.OneToOne => "one-to-one",
            ConversationType.GroupChat => "group-chat",
        });
        json.WriteString("conversation", t.ConversationKey);
        json.WriteString("opened", t.OpenedUtc);
        json.WriteString("closed", t.ClosedUtc);
        json.WriteStartArray("participants");
        foreach (var p in t.Participants) json.WriteStringValue(p);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Event(Utf8JsonWriter json, ConversationEvent e)
    {
        json.WriteStartObject();
        json.WriteString("id", e.Id);
        json.WriteString("received", e.ReceivedUtc);
        json.WriteString("kind", e.Kind.ToString());
        json.WriteString("from", e.From);
        json.WriteString("to", e.To);
        if (e.Nick is { } nick) json.WriteString("nick", nick);
        if (e.Text is { } text) json.WriteString("text", text);
        if (e.Rule is { } rule) json.WriteString("rule", rule.Name()); // refusals: the rule's stable name
        if (e.Reason is { } reason) json.WriteString("reason", reason);
        if (e.FileName is { } file) json.WriteString("file", file);
        if (e.Url is { } url) json.WriteString("url", url);
        json.WriteEndObject();
    }
}

using System.Collections.Concurrent;
using ImLogger.Conversations;
using Microsoft.Extensions.Logging;

namespace ImLogger.Tests.DeliveryTestSupport;

/// <summary>A fresh directory under the temp path, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "imlogger-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            if (!Directory.Exists(Path)) return;
            foreach (var dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
                System.IO.File.SetAttributes(dir, FileAttributes.Normal);
            if (!OperatingSystem.IsWindows())
                foreach (var dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories).Prepend(Path))
                    System.IO.File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Records log entries for assertions.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception), exception));

    public IReadOnlyList<string> At(LogLevel level) => Entries.Where(e => e.Level == level).Select(e => e.Message).ToList();
}

/// <summary>Builders of events and transcripts for spool, sink and dispatcher tests.</summary>
internal static class Events
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 8, 30, 1, TimeSpan.Zero);

    public static ConversationEvent Chat(string from, string to, string text, DateTimeOffset at, string? html = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = at,
        Kind = EventKind.Message,
        Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne,
        ConversationKey = string.Join(' ', new[] { Bare(from), Bare(to) }.Order(StringComparer.Ordinal)),
        From = from,
        To = to,
        SenderBareJid = Bare(from),
        Text = text,
        Html = html,
        StanzaId = "s-" + Guid.NewGuid().ToString("N")[..6],
        StanzaType = "chat",
        LoggedUsers = [Bare(from)],
        RawXml = $"<message from='{from}' to='{to}' type='chat'><body>{System.Security.SecurityElement.Escape(text)}</body></message>",
    };

    public static ConversationEvent Room(EventKind kind, string room, string nick, string? realJid, DateTimeOffset at,
        string? text = null, IReadOnlyList<int>? status = null, string to = "alice@example.test/laptop") => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = at,
        Kind = kind,
        Direction = Direction.Incoming,
        ConversationType = ConversationType.GroupChat,
        ConversationKey = room,
        From = room + "/" + nick,
        To = to,
        SenderBareJid = realJid,
        Nick = nick,
        Text = text,
        StanzaType = kind == EventKind.Message ? "groupchat" : null,
        StatusCodes = status ?? [],
        LoggedUsers = ["alice@example.test"],
        RawXml = "<presence/>",
    };

    public static Transcript OneToOne(params ConversationEvent[] events) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ConversationType = ConversationType.OneToOne,
        ConversationKey = events[0].ConversationKey,
        OpenedUtc = events[0].ReceivedUtc,
        ClosedUtc = events[^1].ReceivedUtc.AddMinutes(10),
        Events = events,
    };

    public static Transcript Group(string room, params ConversationEvent[] events) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ConversationType = ConversationType.GroupChat,
        ConversationKey = room,
        OpenedUtc = events[0].ReceivedUtc,
        ClosedUtc = events[^1].ReceivedUtc.AddMinutes(10),
        Events = events,
    };

    public static Transcript Simple() => OneToOne(
        Chat("alice@example.test/laptop", "bob@example.test", "hello bob", T0),
        Chat("bob@example.test/phone", "alice@example.test/laptop", "hi alice", T0.AddSeconds(5)),
        Chat("alice@example.test/laptop", "bob@example.test", "bye", T0.AddSeconds(9)));

    private static string Bare(string jid)
    {
        var slash = jid.IndexOf('/');
        return slash < 0 ? jid : jid[..slash];
    }
}

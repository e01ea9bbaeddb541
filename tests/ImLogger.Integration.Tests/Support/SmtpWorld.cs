using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// What the SMTP endpoint tests share: a temp directory, a test CA (its PEM is the endpoints' ca-file), a config file
/// written with the endpoints under test and loaded by the real <see cref="ConfigLoader"/>, a LiteDB spool with
/// transcripts, and the sinks the host would build from that config.
/// </summary>
internal sealed class SmtpWorld : IDisposable
{
    public const string PasswordVariable = "IMLOGGER_TEST_SMTP_PASSWORD";
    public static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 30, 0, TimeSpan.Zero);

    private LiteDbSpool? _spool;

    public SmtpWorld()
    {
        Dir = Paths.TempDir("imlogger-smtp-");
        Ca = new TestCa("ImLogger Test CA");
        CaFile = Ca.WritePem(Path.Combine(Dir, "test-ca.pem"));
    }

    public string Dir { get; }

    public TestCa Ca { get; }

    public string CaFile { get; }

    public string SpoolPath => Path.Combine(Dir, "spool.db");

    public string ConfigPath => Path.Combine(Dir, "imlogger.xml");

    public string ArchiveDir => Path.Combine(Dir, "archive");

    public LiteDbSpool Spool => _spool ??= new LiteDbSpool(SpoolPath, NullLogger<LiteDbSpool>.Instance);

    /// <summary>Closes the spool (as a stopped process would) so another process or instance can open it.</summary>
    public void CloseSpool()
    {
        _spool?.Dispose();
        _spool = null;
    }

    /// <summary>Standard SMTP attributes for a server on <paramref name="port"/> with the test CA and the test login.</summary>
    public string SmtpAttributes(int port, string host = "localhost") =>
        $"host=\"{host}\" port=\"{port}\" tls=\"starttls\" ca-file=\"test-ca.pem\" username=\"{TestSmtpServer.User}\" " +
        $"password-env=\"{PasswordVariable}\" from=\"imlogger@corp.example.com\" timeout=\"10s\"";

    /// <summary>Writes the config with the given <c>&lt;endpoints&gt;</c> children; alice uses <paramref name="aliceEndpoint"/>.</summary>
    public ImLoggerConfig WriteConfig(string endpoints, string aliceEndpoint, string? password = TestSmtpServer.Password, int componentPort = 5347)
    {
        File.WriteAllText(ConfigPath, $"""
            <imlogger>
              <component jid="archive.example.test" port="{componentPort}" secret-env="{ImLoggerProcess.SecretVariable}" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="{aliceEndpoint}" seats="10">
                <user jid="alice@example.test" />
              </organization>
              <endpoints>
                {endpoints}
              </endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(ConfigPath, v => v switch
        {
            ImLoggerProcess.SecretVariable => "component-secret",
            PasswordVariable => password,
            _ => null,
        });
    }

    public static IReadOnlyList<ITranscriptSink> Sinks(ImLoggerConfig config, ILoggerFactory? loggers = null) =>
        config.Endpoints.Select(e => EndpointSinks.Create(e, loggers ?? NullLoggerFactory.Instance, "imlogger@archive.example.test")).ToList();

    public Dispatcher Dispatcher(ImLoggerConfig config, DispatcherOptions? options = null, ILoggerFactory? loggers = null) =>
        new(Spool, Spool, Sinks(config, loggers), (loggers ?? NullLoggerFactory.Instance).CreateLogger<Dispatcher>(), TimeProvider.System,
            (options ?? new DispatcherOptions { QuickRetries = 0 }) with { EndpointMaxAttempts = EndpointSinks.MaxAttempts(config.Endpoints) });

    /// <summary>A closed group chat transcript in room@conference.example.test: alice joins, bob and carol talk (one XHTML
    /// message with markup that must come out escaped), bob leaves. Owed to <paramref name="endpoints"/>.</summary>
    public string GroupChat(params string[] endpoints)
    {
        const string room = "room@conference.example.test";
        var header = Spool.OpenTranscript(ConversationType.GroupChat, room, T0, endpoints);
        Spool.Append([
            new(header.Id, Presence(EventKind.Joined, room, "alice", "alice@example.test", T0)),
            new(header.Id, Presence(EventKind.Present, room, "bob", "bob@example.test", T0)),
            new(header.Id, Message(room, "bob", "bob@example.test", "Quarterly numbers are in <b>the deck</b>", T0.AddSeconds(30),
                html: "<body xmlns='http://www.w3.org/1999/xhtml'><p>Quarterly numbers are in <b>the deck</b> <img alt=':-)' src='x'/></p></body>")),
            new(header.Id, Message(room, "carol", "carol@partner.test", "Thanks, reading now", T0.AddSeconds(90))),
            new(header.Id, Presence(EventKind.Left, room, "bob", "bob@example.test", T0.AddSeconds(100))),
            // ImLogger's own archive notice, addressed as the notifier records it (component to a list of recipients)
            new(header.Id, new ConversationEvent
            {
                Id = Guid.NewGuid().ToString("N"), ReceivedUtc = T0.AddSeconds(100), Kind = EventKind.Notice, Direction = Direction.Outgoing,
                ConversationType = ConversationType.GroupChat, ConversationKey = room, From = "archive.example.test",
                To = "alice@example.test, carol@partner.test", SenderBareJid = "archive.example.test",
                Text = "This conversation is logged.", LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
            }),
        ]);
        Spool.Close(header.Id, T0.AddMinutes(12));
        return header.Id;
    }

    /// <summary>A closed one-to-one transcript with <paramref name="messages"/> messages of about <paramref name="size"/> characters.</summary>
    public string Chat(int messages, int size, params string[] endpoints)
    {
        const string key = "alice@example.test bob@example.test";
        var header = Spool.OpenTranscript(ConversationType.OneToOne, key, T0, endpoints);
        var batch = new List<SpoolAppend>();
        for (var i = 0; i < messages; i++)
        {
            var (from, to) = i % 2 == 0 ? ("alice@example.test/laptop", "bob@example.test") : ("bob@example.test/phone", "alice@example.test");
            var text = $"message #{i:D4} " + new string((char)('a' + i % 26), Math.Max(0, size - 14));
            batch.Add(new(header.Id, new ConversationEvent
            {
                Id = Guid.NewGuid().ToString("N"), ReceivedUtc = T0.AddSeconds(i), Kind = EventKind.Message, Direction = Direction.Outgoing,
                ConversationType = ConversationType.OneToOne, ConversationKey = key, From = from, To = to,
                SenderBareJid = from.Split('/')[0], Text = text, StanzaType = "chat", LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
            }));
        }
        Spool.Append(batch);
        Spool.Close(header.Id, T0.AddSeconds(messages + 60));
        return header.Id;
    }

    private static ConversationEvent Presence(EventKind kind, string room, string nick, string jid, DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = at, Kind = kind, Direction = Direction.Incoming, ConversationType = ConversationType.GroupChat,
        ConversationKey = room, From = $"{room}/{nick}", To = "alice@example.test/laptop", SenderBareJid = jid, Nick = nick,
        LoggedUsers = ["alice@example.test"], RawXml = "<presence/>",
    };

    private static ConversationEvent Message(string room, string nick, string jid, string text, DateTimeOffset at, string? html = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = at, Kind = EventKind.Message, Direction = Direction.Incoming, ConversationType = ConversationType.GroupChat,
        ConversationKey = room, From = $"{room}/{nick}", To = "alice@example.test/laptop", SenderBareJid = jid, Nick = nick, Text = text, Html = html,
        StanzaType = "groupchat", LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
    };

    public EndpointDelivery Delivery(string id, string endpoint) =>
        Spool.Undelivered().Single(h => h.Id == id).Deliveries.Single(d => d.Endpoint == endpoint);

    public void Dispose()
    {
        CloseSpool();
        Ca.Dispose();
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException) { }
    }
}

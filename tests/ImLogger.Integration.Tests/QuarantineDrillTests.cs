using ImLogger.Conversations;
using ImLogger.Integration.Tests.Support;
using ImLogger.Spool;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Integration.Tests;

/// <summary>Issue 14, the real <c>imlogger</c>: a spool holding records this version cannot read (a newer version's
/// conversation type and event kind) no longer stops the service or its deliveries; and a loop that fails stops it with a
/// non-zero exit code, so systemd's Restart=on-failure starts it again. No XMPP server is needed: the component keeps
/// retrying its connection while the dispatcher delivers from the spool.</summary>
[TestFixture]
public class QuarantineDrillTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Paths.TempDir("imlogger-quarantine-");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Config => Path.Combine(_dir, "imlogger.xml");

    private string Archive => Path.Combine(_dir, "archive");

    private void WriteConfig() => File.WriteAllText(Config, $"""
        <imlogger>
          <component jid="archive.example.test" port="{Paths.FreePort()}" secret-env="{ImLoggerProcess.SecretVariable}" />
          <spool path="spool.db" />
          <organization domain="example.test" endpoint="a" seats="10"><user jid="alice@example.test" /></organization>
          <endpoints><directory name="a" path="archive" /></endpoints>
        </imlogger>
        """);

    /// <summary>Three healthy transcripts waiting for delivery, behind an open one of a conversation type and a closed one
    /// with an event kind this version does not know (what a downgrade leaves behind).</summary>
    private (string OpenUnknownType, string UnknownKind, List<string> Healthy) WriteSpool()
    {
        var path = Path.Combine(_dir, "spool.db");
        string openUnknownType, unknownKind;
        var healthy = new List<string>();
        var t0 = new DateTimeOffset(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            string Store(int n, bool close)
            {
                var at = t0.AddMinutes(n);
                var bob = $"bob{n}@example.test";
                var header = spool.OpenTranscript(ConversationType.OneToOne, $"alice@example.test {bob}", at, ["a"]);
                spool.Append(Enumerable.Range(0, 2).Select(i => new SpoolAppend(header.Id, new ConversationEvent
                {
                    Id = $"e{n}-{i}", ReceivedUtc = at.AddSeconds(i), Kind = EventKind.Message, Direction = Direction.Outgoing,
                    ConversationType = ConversationType.OneToOne, ConversationKey = $"alice@example.test {bob}",
                    From = "alice@example.test/laptop", To = bob, SenderBareJid = "alice@example.test", Text = $"message {n}.{i}",
                    LoggedUsers = ["alice@example.test"], RawXml = $"<message to='{bob}'><body>message {n}.{i}</body></message>",
                })).ToList());
                if (close) spool.Close(header.Id, at.AddSeconds(30));
                return header.Id;
            }
            openUnknownType = Store(0, close: false);
            unknownKind = Store(1, close: true);
            for (var n = 2; n < 5; n++) healthy.Add(Store(n, close: true));
        }
        using (var db = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct }))
        {
            var transcripts = db.GetCollection("transcripts");
            var open = transcripts.FindById(openUnknownType);
            open["type"] = "Broadcast";
            transcripts.Update(open);
            // The transcript's events are stored together in one stored batch (LiteDbSpool.Batches.cs): its second record a poll.
            var batches = db.GetCollection("event_batches");
            var batch = batches.FindOne(Query.EQ("tid", unknownKind));
            var poll = batch["events"].AsArray.Select(e => e.AsDocument).Single(e => e["_id"] == $"{unknownKind}:0000000001");
            poll["kind"] = "Poll";
            batches.Update(batch);
        }
        return (openUnknownType, unknownKind, healthy);
    }

    [Test, CancelAfter(120_000)]
    public async Task UnreadableRecords_AreQuarantined_TheServiceKeepsRunning_AndDeliversTheOthers()
    {
        WriteConfig();
        var (openUnknownType, unknownKind, healthy) = WriteSpool();

        await using var imlogger = ImLoggerProcess.Run(Config, "s");
        foreach (var id in healthy)
            await imlogger.WaitForLineAsync(l => l.Contains($"transcript {id} ", StringComparison.Ordinal) && l.Contains("delivered to a", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), $"transcript {id} delivered");

        // Asked through the running service's control socket: it answers, so it is still running.
        var (code, status) = await ImLoggerProcess.CommandAsync("s", "spool", "status", "--config", Config);
        Assert.That(code, Is.Zero, status);
        Assert.That(status, Does.Contain("QUARANTINED: 2 transcript(s)"));
        Assert.That(status, Does.Contain(openUnknownType).And.Contain("'Broadcast': this version knows no such conversation type"));
        Assert.That(status, Does.Contain(unknownKind).And.Contain("'Poll': this version knows no such event kind"));
        Assert.That(status, Does.Contain("release-quarantined"));
        var (reportCode, report) = await ImLoggerProcess.CommandAsync("s", "report", "--config", Config);
        Assert.That(reportCode, Is.Zero, report);
        Assert.That(report, Does.Contain("QUARANTINED: 2 transcript(s)"));

        Assert.That(imlogger.HasExited, Is.False, "the issue: an open transcript of an unknown type stopped the service");
        Assert.That(Directory.GetFiles(Archive, "*", SearchOption.AllDirectories), Has.Length.EqualTo(healthy.Count), "the healthy ones, and only those");
        Assert.That(imlogger.Lines.Count(l => l.Contains("is quarantined", StringComparison.Ordinal)), Is.EqualTo(2), imlogger.Output);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(30)), Is.Zero, "a requested stop is a clean stop");
    }

    [Test, CancelAfter(120_000)]
    public async Task SpoolCommands_OnAStoppedService_ReportWhatTheyCannotRead_AndNeverDie()
    {
        WriteConfig();
        var (openUnknownType, unknownKind, _) = WriteSpool();

        var (code, status) = await ImLoggerProcess.CommandAsync("s", "spool", "status", "--config", Config);
        Assert.That(code, Is.Zero, status);
        // The open one's header cannot be read: quarantined by the listing. The other's header reads (its bad event is found
        // when it is loaded, for delivery or `spool show`): still counted as waiting.
        Assert.That(status, Does.Contain("0 open conversation(s), 4 closed transcript(s)"));
        Assert.That(status, Does.Contain("QUARANTINED: 1 transcript(s)").And.Contain(openUnknownType).And.Not.Contain("Unhandled exception"));

        var (showCode, show) = await ImLoggerProcess.CommandAsync("s", "spool", "show", unknownKind, "--config", Config);
        Assert.That(showCode, Is.Zero, show);
        Assert.That(show, Does.Contain("QUARANTINED").And.Contain("message 1.0"), "what can be read of it is shown");
        Assert.That(show, Does.Contain($"event:{unknownKind}:0000000001 cannot be read"));

        var (releaseCode, release) = await ImLoggerProcess.CommandAsync("s", "spool", "release-quarantined", "--config", Config);
        Assert.That(releaseCode, Is.EqualTo(1), release);
        Assert.That(release, Does.Contain("0 of 2 quarantined transcript(s) released"));
        Assert.That(release, Does.Contain($"{openUnknownType}: stays quarantined"));
    }

    [Test, CancelAfter(120_000)]
    public async Task ALoopThatFails_StopsTheServiceWithExitCode70_SoSystemdRestartsIt()
    {
        WriteConfig();
        await using var imlogger = ImLoggerProcess.Start("imlogger", new Dictionary<string, string>
        {
            [ImLoggerProcess.SecretVariable] = "s",
            ["IMLOGGER_FAULT_DRILL"] = "1",
        }, "run", "--config", Config, "--log-config", Paths.NLogConfig);

        var code = await imlogger.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.That(code, Is.EqualTo(70), "the issue: a failed background service exited 0, so Restart=on-failure did nothing\n" + imlogger.Output);
        Assert.That(imlogger.Lines, Has.Some.Contains("FATAL").And.Contains("ImLogger stops with exit code 70: FaultDrillService failed"));
        Assert.That(imlogger.Lines, Has.Some.Contains("systemd starts the service again"));
        Assert.That(imlogger.Lines, Has.Some.Contains("Stopping:"), "the orderly stop still ran: what was read is spooled and open transcripts closed");
    }
}

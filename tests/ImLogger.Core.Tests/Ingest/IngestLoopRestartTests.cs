using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Ingest;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Ingest;

/// <summary>
/// Exactly once across kill -9 (issue 16): what the server's inline module does after ImLogger was killed between
/// storing a request and answering it, replayed against a spool closed and opened again as a new process would. The
/// module sends the request again while it keeps the stanzas (up to its timeout), or refuses them after that timeout and
/// reports the refusal (naming the request the stanzas were last sent in) to whichever run of ImLogger comes next.
/// </summary>
public partial class IngestLoopTests
{
    private const string Ns = "urn:imlogger:inline:0";

    /// <summary>A held message as the module sends it, again and again, with the same stanza id; optionally with a
    /// refusal report of an earlier request.</summary>
    private static XElement Held(string requestId, string? messageId, string text, string? refusedRequest = null) => XElement.Parse($"""
        <iq xmlns='jabber:component:accept' type='set' id='{requestId}' from='example.test' to='archive.example.test'>
          <batch xmlns='{Ns}'>
            <item id='7' direction='out' user='alice@example.test' to-local='true'>
              <message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test' type='chat'{(messageId is null ? "" : $" id='{messageId}'")}><body>{text}</body></message>
            </item>
            {(refusedRequest is null ? "" : $"<refused request='{refusedRequest}' count='1' reason='held 3 s while ImLogger was away'/>")}
          </batch>
        </iq>
        """);

    /// <summary>A new process: the spool opened again, a pipeline that remembers nothing, the recent events recalled.</summary>
    private IngestLoop Restarted(IngestOptions? options = null, TimeSpan? dedupWindow = null)
    {
        _spool.Dispose();
        _spool = new LiteDbSpool(Path.Combine(_dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
        _dedup = new CopyDeduplicator(dedupWindow ?? TimeSpan.FromMinutes(10), _clock);
        SetUpStagesWith(_dedup);
        var loop = new IngestLoop(_server, _stages, _spool, _dedup,
            options ?? new IngestOptions { Inline = true, SpoolPath = "/var/lib/imlogger/spool.db" }, _clock, _log) { Answered = _spool };
        loop.RecallRecentEvents();
        return loop;
    }

    /// <summary>The run before the crash: stores the request, then dies before its verdict goes out.</summary>
    private void StoredThenKilled(XElement request)
    {
        var (events, _) = _stages.Classify([request]);
        _stages.Store(events);
    }

    private List<ConversationEvent> Stored(EventKind kind) =>
        _spool.OpenTranscripts().SelectMany(h => _spool.Load(h.Id)!.Events).Where(e => e.Kind == kind).ToList();

    private async Task Answer(IngestLoop loop, params XElement[] requests)
    {
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);
        foreach (var r in requests) await _server.Incoming.Writer.WriteAsync(r);
        var ids = requests.Select(r => (string)r.Attribute("id")!).ToList();
        await Eventually.True(() => ids.All(Verdicts().Contains), "every request answered");
        await stop.CancelAsync();
        await Stopped(run);
    }

    [Test]
    public async Task ARefusalReportedToTheNextRunMarksWhatThePreviousRunStoredAsNotDelivered()
    {
        StoredThenKilled(Held("r1", "m1", "stored, then killed"));
        // The restart took longer than the module's timeout: it refused the stanza and reports r1 to the next run.
        _clock.Advance(TimeSpan.FromSeconds(5));
        await Answer(Restarted(), Held("r2", "m2", "after the restart", refusedRequest: "r1"));

        var refused = Stored(EventKind.Refused);
        Assert.That(refused.Select(e => e.Text), Is.EqualTo(new[] { "stored, then killed" }), "marked once, by the run that got the report");
        Assert.That(refused[0].Reason, Does.Contain("NOT DELIVERED"));
        Assert.That(Stored(EventKind.Message).Select(e => e.Text), Is.EqualTo(new[] { "stored, then killed", "after the restart" }));
    }

    [Test]
    public async Task ARefusalReportedTwiceAcrossRestartsMarksOnce()
    {
        StoredThenKilled(Held("r1", "m1", "stored, then killed"));
        await Answer(Restarted(), Held("r2", "m2", "second", refusedRequest: "r1"));
        // The module reports again what rode with a request it got no answer for (r2 answered here, but say it was lost).
        await Answer(Restarted(), Held("r3", "m3", "third", refusedRequest: "r1"));
        Assert.That(Stored(EventKind.Refused), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ARequestSentAgainAfterACrashAndThenRefusedMarksTheRecordStoredBeforeTheCrash()
    {
        StoredThenKilled(Held("r1", "m1", "stored, then killed"));
        var loop = Restarted();
        // Sent again (same stanza, new request id): a repeat, archived once and allowed. Its verdict reaches the module
        // too late all the same (a slow start), so the module refuses it and reports r2, the request it last sent it in.
        await Answer(loop, Held("r2", "m1", "stored, then killed"));
        Assert.That(Stored(EventKind.Message), Has.Count.EqualTo(1), "archived once");
        await Answer(Restarted(), Held("r3", "m3", "later", refusedRequest: "r2"));

        Assert.That(Stored(EventKind.Refused).Select(e => e.Text), Is.EqualTo(new[] { "stored, then killed" }),
            "the record above must not read as delivered");
    }

    [Test]
    public async Task ARestartSlowerThanTheDedupWindowStillRecognisesARequestSentAgainWithinTheModulesTimeout()
    {
        StoredThenKilled(Held("r1", "m1", "stored, then killed"));
        // dedup-window 10 s, the module's timeout 30 s: the restart takes 15 s, the request comes again 10 s later.
        _clock.Advance(TimeSpan.FromSeconds(15));
        var loop = Restarted(new IngestOptions { Inline = true, DedupWindow = TimeSpan.FromSeconds(10), ResentWithin = TimeSpan.FromSeconds(30) },
            dedupWindow: TimeSpan.FromSeconds(10));
        _clock.Advance(TimeSpan.FromSeconds(10));
        await Answer(loop, Held("r2", "m1", "stored, then killed"));
        Assert.That(Stored(EventKind.Message).Select(e => e.Text), Is.EqualTo(new[] { "stored, then killed" }), "archived once");
    }

    [Test]
    public async Task TheSendersAndTheRecipientsCopyOfOneMessageInARefusedRequestAreMarkedOnce()
    {
        var both = Held("r1", "m1", "to a logged colleague");
        var copy = new XElement(both.Element(XName.Get("batch", Ns))!.Element(XName.Get("item", Ns))!);
        copy.SetAttributeValue("id", "8");
        copy.SetAttributeValue("direction", "in");
        both.Element(XName.Get("batch", Ns))!.Add(copy);
        var loop = Restarted();
        await Answer(loop, both);
        await Answer(Restarted(), Held("r2", "m2", "later", refusedRequest: "r1"));
        Assert.That(Stored(EventKind.Refused), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AnIdlessMessageTypedAgainSecondsAfterARestartIsArchivedAgainNotTakenForARepeat()
    {
        // Without an id nothing tells a stanza sent again from a new one with the same words: archiving twice is the
        // safe side; taking the second "ok" for a repeat would deliver it unarchived.
        StoredThenKilled(Held("r1", null, "ok"));
        var loop = Restarted();
        _clock.Advance(TimeSpan.FromSeconds(5));
        await Answer(loop, Held("r2", null, "ok"));
        Assert.That(Stored(EventKind.Message).Select(e => e.Text), Is.EqualTo(new[] { "ok", "ok" }));
    }
}

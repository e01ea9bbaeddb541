using System.Xml.Linq;
using ImLogger.Conversations;

namespace ImLogger.Tests.Ingest;

/// <summary>
/// Exactly once across a graceful stop (issue 16): the stop closes the open transcripts, so recalling the open ones at
/// the next start missed what the last run had answered. The module then sends again a stanza whose verdict it did not
/// read before the stream ended, or the other copy of a message held twice (a room's reflection of it to its sender, the
/// copy for a logged recipient) that was in flight at the stop: archived a second time, in a new transcript (seen in
/// ScaleOutTests under load: a room's first message twice in the restarted instance's archive). The answered records
/// are recalled too, with the digest of each event's full content (their light copies have no HTML and cut text).
/// </summary>
public partial class IngestLoopTests
{
    private static XElement HeldRich(string requestId, string messageId, string text, bool html = true) => XElement.Parse($"""
        <iq xmlns='jabber:component:accept' type='set' id='{requestId}' from='example.test' to='archive.example.test'>
          <batch xmlns='{Ns}'>
            <item id='1' direction='out' user='alice@example.test' to-local='true'>
              <message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test' type='chat' id='{messageId}'>
                <body>{text}</body>
                {(html ? $"<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p><b>{text}</b></p></body></html>" : "")}
              </message>
            </item>
          </batch>
        </iq>
        """);

    /// <param name="longRich">HTML and a text longer than the answered records' light copies keep (a digest is stored);
    /// else a short plain text, whose light copy keys as the event does (none is).</param>
    [TestCase(true), TestCase(false)]
    public async Task AStanzaSentAgainAfterAGracefulStopClosedItsTranscriptIsARepeat(bool longRich)
    {
        var text = longRich ? "quarterly figures " + new string('x', 400) : "ok";
        await Answer(Restarted(), HeldRich("r1", "m1", text, html: longRich));
        Assert.That(Stored(EventKind.Message), Has.Count.EqualTo(1));
        // The graceful stop: every open transcript closed (ArchiveService, ConversationTracker.CloseAll).
        foreach (var header in _spool.OpenTranscripts()) _spool.Close(header.Id, _clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromSeconds(3));

        // The next run: the module sends the stanza again, its verdict having been lost with the stream.
        await Answer(Restarted(), HeldRich("r2", "m1", text, html: longRich));

        Assert.That(Verdicts(), Does.Contain("r2"), "answered");
        Assert.That(Stored(EventKind.Message), Is.Empty, "a repeat: not archived a second time in a new transcript");
    }

    [Test]
    public async Task ANewMessageWithTheSameIdButOtherWordsAfterTheRestartIsStillArchived()
    {
        await Answer(Restarted(), HeldRich("r1", "m1", "first words"));
        foreach (var header in _spool.OpenTranscripts()) _spool.Close(header.Id, _clock.GetUtcNow());
        _clock.Advance(TimeSpan.FromSeconds(3));

        // A client that reuses its ids: same id, other content, is another message.
        await Answer(Restarted(), HeldRich("r2", "m1", "other words"));

        Assert.That(Stored(EventKind.Message).Select(e => e.Text), Is.EqualTo(new[] { "other words" }));
    }
}

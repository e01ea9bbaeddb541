using ImLogger.Continuity;
using ImLogger.Conversations;
using ImLogger.Domain;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Spool;

namespace ImLogger.Tests.Spool.Ports;

/// <summary>The ports share one database: inside <see cref="IUnitOfWork.InOneWrite"/> the writes made through each of them
/// (seat, room, transcript and events, continuity) commit together or not at all, whichever port made them.</summary>
[TestFixture]
public sealed class UnitOfWorkPortTests : SpoolPortFixture
{
    private void WriteThroughEveryPort(IUnitOfWork unit, Action? last = null) => unit.InOneWrite(() =>
    {
        ((ISeenUsers)unit).AddSeenUser(new SeenUser("zed@example.test", T0));
        ((IEncryptedRoomStore)unit).AddLearnedEncryptedRoom("secret@conference.example.test", "OMEMO message seen");
        var transcripts = (ITranscriptStore)unit;
        var header = transcripts.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        transcripts.Append([new SpoolAppend(header.Id, Chat("hello", T0))]);
        ((IContinuityStore)unit).SaveContinuity([new ContinuityRecord("call:1", "call", T0, new Dictionary<string, string?>())], []);
        last?.Invoke();
    });

    private (int Seats, int Rooms, int Transcripts, int Continuity, int Activity) Stored()
    {
        var spool = Reopen<ISpool>();
        return (((ISeenUsers)spool).SeenUsers().Count, ((IEncryptedRoomStore)spool).LearnedEncryptedRooms().Count,
            spool.OpenTranscripts().Count, ((IContinuityStore)spool).LoadContinuity().Count, spool.Activity(DateTimeOffset.MinValue).Count);
    }

    [Test]
    public void EveryPortsWriteCommitsTogether()
    {
        WriteThroughEveryPort(Open<IUnitOfWork>());
        Assert.That(Stored(), Is.EqualTo((1, 1, 1, 1, 1)));
    }

    [Test]
    public void AFailureAnywhereLeavesNoPortsWrite()
    {
        var unit = Open<IUnitOfWork>();
        var undone = 0;
        Assert.Throws<IOException>(() => WriteThroughEveryPort(unit, () =>
        {
            unit.OnRollback(() => undone++);
            throw new IOException("injected after every port wrote");
        }));
        Assert.That(undone, Is.EqualTo(1), "what the stages changed in memory is undone");
        Assert.That(Stored(), Is.EqualTo((0, 0, 0, 0, 0)));
    }
}

using ImLogger.Conversations;
using ImLogger.Domain;

namespace ImLogger.Pipeline;

public sealed partial class StanzaPipeline
{
    /// <summary>Stores a batch as one unit of work: seats taken and rooms learned while it was classified, its events (with
    /// the transcripts opened and closed on the way), and the continuity records, all committed together or not at all.
    /// A failure leaves all of it to the caller's retry (the ledger, policy and continuity keep theirs pending, the tracker
    /// puts back its open conversations).</summary>
    private IReadOnlyList<string> StoreInOneWrite(IReadOnlyList<ConversationEvent> events, IUnitOfWork unit)
    {
        // Taken before the spool's lock is (the ledger's own lock must never be taken inside it: see SeatLedger.SaveSeats).
        var seen = seats.UnsavedSeats();
        var rooms = policy.UnsavedRooms();
        IReadOnlyList<string> closed = [];
        tracker.InOneWrite(() =>
        {
            seats.SaveSeats(seen);
            policy.SaveRooms(rooms);
            closed = tracker.Append(events);
            notifier.Continuity?.FlushIn(unit);
        });
        seats.SeatsSaved(seen);
        policy.RoomsSaved(rooms);
        return closed;
    }
}

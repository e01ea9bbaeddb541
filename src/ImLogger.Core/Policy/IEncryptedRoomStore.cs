namespace ImLogger.Policy;

/// <summary>Where the rooms ImLogger learned are end-to-end encrypted are kept (the spool), so that a restart does not
/// let logged users into them again.</summary>
public interface IEncryptedRoomStore
{
    /// <summary>Every learned room (bare JID) with why it is known to be encrypted.</summary>
    IReadOnlyDictionary<string, string> LearnedEncryptedRooms();

    /// <summary>Records a learned room; durable when it returns. A room already recorded is left as is.</summary>
    void AddLearnedEncryptedRoom(string room, string why);

    /// <summary>Forgets a learned room (an admin's decision); false if it was not recorded.</summary>
    bool ForgetLearnedEncryptedRoom(string room);
}

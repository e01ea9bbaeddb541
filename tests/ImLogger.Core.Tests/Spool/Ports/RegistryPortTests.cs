using ImLogger.Policy;
using ImLogger.Seats;

namespace ImLogger.Tests.Spool.Ports;

/// <summary>The registries alone, on a real LiteDB file: users seen in organizations that log by default
/// (<see cref="ISeenUsers"/>: their order decides who holds a seat) and rooms learned to be end-to-end encrypted
/// (<see cref="IEncryptedRoomStore"/>), across a restart.</summary>
[TestFixture]
public sealed class RegistryPortTests : SpoolPortFixture
{
    [Test]
    public void SeenUsersKeepTheOrderOfFirstSightAndAreRecordedOnce()
    {
        var seats = Open<ISeenUsers>();
        Assert.That(seats.SeenUsers(), Is.Empty);
        seats.AddSeenUser(new SeenUser("zed@example.test", T0));
        seats.AddSeenUser(new SeenUser("amy@example.test", T0.AddMinutes(1)));
        seats.AddSeenUser(new SeenUser("zed@example.test", T0.AddMinutes(2))); // seen again: keeps its place and first sight

        seats = Reopen<ISeenUsers>();
        Assert.That(seats.SeenUsers(), Is.EqualTo(new[] { new SeenUser("zed@example.test", T0), new SeenUser("amy@example.test", T0.AddMinutes(1)) }));
    }

    [Test]
    public void AReleasedSeatGoesToTheEndWhenItsUserComesBack()
    {
        var seats = Open<ISeenUsers>();
        seats.AddSeenUser(new SeenUser("zed@example.test", T0));
        seats.AddSeenUser(new SeenUser("amy@example.test", T0.AddMinutes(1)));
        Assert.That(seats.RemoveSeenUser("zed@example.test"), Is.True);
        Assert.That(seats.RemoveSeenUser("zed@example.test"), Is.False, "no longer recorded");
        seats.AddSeenUser(new SeenUser("zed@example.test", T0.AddMinutes(5)));
        Assert.That(Reopen<ISeenUsers>().SeenUsers().Select(u => u.Jid), Is.EqualTo(new[] { "amy@example.test", "zed@example.test" }));
    }

    [Test]
    public void LearnedRoomsStayUntilForgottenAndKeepTheFirstReason()
    {
        var rooms = Open<IEncryptedRoomStore>();
        rooms.AddLearnedEncryptedRoom("secret@conference.example.test", "OMEMO message seen");
        rooms.AddLearnedEncryptedRoom("secret@conference.example.test", "another reason");
        rooms.AddLearnedEncryptedRoom("plans@conference.example.test", "OpenPGP message seen");

        rooms = Reopen<IEncryptedRoomStore>();
        Assert.That(rooms.LearnedEncryptedRooms(), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["secret@conference.example.test"] = "OMEMO message seen",
            ["plans@conference.example.test"] = "OpenPGP message seen",
        }));
        Assert.That(rooms.ForgetLearnedEncryptedRoom("secret@conference.example.test"), Is.True);
        Assert.That(rooms.ForgetLearnedEncryptedRoom("secret@conference.example.test"), Is.False);
        Assert.That(Reopen<IEncryptedRoomStore>().LearnedEncryptedRooms().Keys, Is.EqualTo(new[] { "plans@conference.example.test" }));
    }
}

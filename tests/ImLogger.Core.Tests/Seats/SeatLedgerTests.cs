using ImLogger.Config;
using ImLogger.Seats;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Seats;

/// <summary>The run-time side of seats: first sight recorded durably, seats given then refused, reloads, a failing store.</summary>
public class SeatLedgerTests
{
    private sealed class MemoryStore : ISeenUsers
    {
        public List<SeenUser> Users { get; } = [];
        public int Failures { get; set; }

        public IReadOnlyList<SeenUser> SeenUsers() => Users.ToList();

        public void AddSeenUser(SeenUser user)
        {
            if (Failures > 0) { Failures--; throw new IOException("No space left on device"); }
            if (Users.All(u => u.Jid != user.Jid)) Users.Add(user);
        }

        public bool RemoveSeenUser(string jid) => Users.RemoveAll(u => u.Jid == jid) > 0;
    }

    private static ImLoggerConfig Config(int seats, bool byDefault = true, params string[] listed) => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
        SpoolPath = "/tmp/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Organizations = [new OrganizationConfig
        {
            Domains = ["example.test"], DefaultEndpoint = "local", Seats = seats, LoggedByDefault = byDefault,
            Users = listed.Select(j => new LoggedUserConfig(j, null)).ToList(),
        }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    [Test]
    public void SendersTakeFreeSeatsInOrderAndTheRestAreNotLogged()
    {
        var store = new MemoryStore();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        var config = Config(2);
        var ledger = new SeatLedger(() => config, store, time, NullLogger<SeatLedger>.Instance);
        Assert.That(ledger.IsLogged("bob@example.test"), Is.False, "unseen");
        ledger.ObserveSender("bob@example.test");
        time.Advance(TimeSpan.FromMinutes(1));
        ledger.ObserveSender("remote@partner.test");
        ledger.ObserveSender("carol@example.test");
        ledger.ObserveSender("bob@example.test");
        ledger.ObserveSender("dave@example.test");
        Assert.Multiple(() =>
        {
            Assert.That(ledger.IsLogged("bob@example.test") && ledger.IsLogged("carol@example.test"), Is.True);
            Assert.That(ledger.IsLogged("dave@example.test"), Is.False, "both seats taken");
            Assert.That(store.Users.Select(u => u.Jid), Is.EqualTo(new[] { "bob@example.test", "carol@example.test", "dave@example.test" }), "recorded once each, remote users never");
            Assert.That(ledger.Plan.Organizations[0].OverLimit.Single().Jid, Is.EqualTo("dave@example.test"));
        });

        // A restart reads the same order back: the same users hold the seats.
        var restarted = new SeatLedger(() => config, store, time, NullLogger<SeatLedger>.Instance);
        Assert.That(restarted.IsLogged("bob@example.test") && restarted.IsLogged("carol@example.test") && !restarted.IsLogged("dave@example.test"), Is.True);
    }

    [Test]
    public void AReloadWithMoreSeatsSeatsTheWaitingUsersAtOnce()
    {
        var store = new MemoryStore();
        var config = Config(1);
        var ledger = new SeatLedger(() => config, store, TimeProvider.System, NullLogger<SeatLedger>.Instance);
        ledger.ObserveSender("bob@example.test");
        ledger.ObserveSender("carol@example.test");
        Assert.That(ledger.IsLogged("carol@example.test"), Is.False);
        config = Config(2);
        Assert.That(ledger.IsLogged("carol@example.test"), Is.True, "the plan follows the config in force");
        config = Config(2, byDefault: false, "alice@example.test");
        Assert.That(ledger.IsLogged("bob@example.test"), Is.False, "logged-by-default turned off");
        Assert.That(ledger.IsLogged("alice@example.test"), Is.True);
    }

    [Test]
    public void ReleasingASeatGivesItToTheNextWaitingUserAndTheReleasedOneQueuesAgain()
    {
        var store = new MemoryStore();
        var config = Config(2);
        var ledger = new SeatLedger(() => config, store, TimeProvider.System, NullLogger<SeatLedger>.Instance);
        foreach (var user in new[] { "bob@example.test", "carol@example.test", "dave@example.test" }) ledger.ObserveSender(user);
        Assert.That(ledger.IsLogged("dave@example.test"), Is.False);

        Assert.That(ledger.Release("bob@example.test"), Is.True);
        Assert.That(ledger.IsLogged("dave@example.test") && !ledger.IsLogged("bob@example.test"), Is.True, "dave, who waited, takes bob's seat");
        Assert.That(store.Users.Select(u => u.Jid), Is.EqualTo(new[] { "carol@example.test", "dave@example.test" }));
        ledger.ObserveSender("bob@example.test");
        Assert.That(ledger.IsLogged("bob@example.test"), Is.False, "bob is seen anew, behind everyone");
        Assert.That(ledger.Release("nobody@example.test"), Is.False);
    }

    [Test]
    public void AStoreThatCannotWriteKeepsTheSeatInMemoryAndWritesItLater()
    {
        var store = new MemoryStore { Failures = 1 };
        var config = Config(5);
        var ledger = new SeatLedger(() => config, store, TimeProvider.System, NullLogger<SeatLedger>.Instance);
        ledger.ObserveSender("bob@example.test");
        Assert.That(ledger.IsLogged("bob@example.test"), Is.True, "logged meanwhile: nothing of bob's is lost");
        Assert.That(store.Users, Is.Empty);
        ledger.ObserveSender("bob@example.test");
        Assert.That(store.Users.Select(u => u.Jid), Is.EqualTo(new[] { "bob@example.test" }), "written with the next stanza");
    }

    [Test]
    public void ListedUsersAreNeverRecorded()
    {
        var store = new Mock<ISeenUsers>(MockBehavior.Strict);
        store.Setup(s => s.SeenUsers()).Returns([]);
        var config = Config(5, true, "alice@example.test");
        var ledger = new SeatLedger(() => config, store.Object, TimeProvider.System, NullLogger<SeatLedger>.Instance);
        ledger.ObserveSender("alice@example.test");
        ledger.ObserveSender("someone@elsewhere.test");
        store.Verify(s => s.AddSeenUser(It.IsAny<SeenUser>()), Times.Never);
    }
}

using ImLogger.Config;
using ImLogger.Seats;

namespace ImLogger.Tests.Seats;

/// <summary>The seat rule: listed users first, then users of an organization logged by default in order of first sight.</summary>
public class SeatPlanTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    private static ImLoggerConfig Config(int seats, string[] listed, bool byDefault = true, string[]? excluded = null, string[]? domains = null)
    {
        var users = listed.Select(j => new LoggedUserConfig(j, null)).ToList();
        return new ImLoggerConfig
        {
            SourcePath = "/etc/imlogger/imlogger.xml",
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = "/tmp/spool.db",
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations =
            [
                new OrganizationConfig
                {
                    Domains = domains ?? ["example.test", "example.net"], DefaultEndpoint = "local", Seats = seats, LoggedByDefault = byDefault,
                    Users = users.Take(seats).ToList(), OverLimit = users.Skip(seats).ToList(),
                    Exclusions = (excluded ?? []).ToHashSet(StringComparer.Ordinal),
                },
                new OrganizationConfig { Domains = ["partner.test"], DefaultEndpoint = "local", Seats = 5, Users = [new LoggedUserConfig("erin@partner.test", null)] },
            ],
            Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
        };
    }

    private static List<SeenUser> Seen(params string[] jids) => jids.Select((j, i) => new SeenUser(j, T0.AddMinutes(i))).ToList();

    [Test]
    public void ListedUsersTakeSeatsFirstThenUsersInTheOrderTheyWereFirstSeen()
    {
        var plan = SeatPlan.Of(Config(3, ["alice@example.test"]), Seen("dave@example.net", "bob@example.test", "carol@example.test", "grace@example.test"));
        var org = plan.Organizations[0];
        Assert.Multiple(() =>
        {
            Assert.That(org.Seated.Select(u => u.Jid), Is.EqualTo(new[] { "dave@example.net", "bob@example.test" }), "both domains share the seats");
            Assert.That(org.OverLimit.Select(u => u.Jid), Is.EqualTo(new[] { "carol@example.test", "grace@example.test" }));
            Assert.That(org.Used, Is.EqualTo(3));
            Assert.That(plan.IsLogged("alice@example.test") && plan.IsLogged("dave@example.net") && plan.IsLogged("bob@example.test"), Is.True);
            Assert.That(plan.IsLogged("carol@example.test") || plan.IsLogged("grace@example.test"), Is.False, "never more users than seats");
            Assert.That(plan.LoggedCount, Is.EqualTo(4), "3 seats of example.test plus erin of partner.test");
            Assert.That(plan.EndpointOf("dave@example.net"), Is.EqualTo("local"));
            Assert.That(plan.OrganizationOf("dave@example.net"), Is.SameAs(plan.Config.Organizations[0]));
        });
    }

    [Test]
    public void ExcludedUsersAndOtherDomainsNeverTakeASeat()
    {
        var plan = SeatPlan.Of(Config(2, [], excluded: ["ceo@example.test"]), Seen("ceo@example.test", "x@elsewhere.test", "frank@partner.test", "bob@example.test"));
        Assert.Multiple(() =>
        {
            Assert.That(plan.Organizations[0].Seated.Select(u => u.Jid), Is.EqualTo(new[] { "bob@example.test" }));
            Assert.That(plan.IsLogged("ceo@example.test"), Is.False);
            Assert.That(plan.IsLogged("frank@partner.test"), Is.False, "partner.test logs only its listed users");
            Assert.That(plan.ShouldRecord("ceo@example.test") || plan.ShouldRecord("frank@partner.test") || plan.ShouldRecord("x@elsewhere.test"), Is.False);
            Assert.That(plan.ShouldRecord("new@example.net"), Is.True);
            Assert.That(plan.ShouldRecord("example.test") || plan.ShouldRecord("@example.test"), Is.False, "the server itself is not a user");
            Assert.That(plan.ShouldRecord("bob@example.test"), Is.False, "already holds a seat");
        });
    }

    [Test]
    public void WithoutLoggedByDefaultSeenUsersChangeNothing()
    {
        var plan = SeatPlan.Of(Config(3, ["alice@example.test"], byDefault: false), Seen("bob@example.test"));
        Assert.That(plan.IsLogged("bob@example.test"), Is.False);
        Assert.That(plan.Organizations[0].OverLimit, Is.Empty);
        Assert.That(plan.ShouldRecord("bob@example.test"), Is.False);
    }

    [Test]
    public void ListingMoreUsersOrLoweringSeatsTakesSeatsFromTheMostRecentlySeatedFirst()
    {
        var seen = Seen("bob@example.test", "carol@example.test", "dave@example.test");
        Assert.That(SeatPlan.Of(Config(4, ["alice@example.test"]), seen).Organizations[0].Seated.Count, Is.EqualTo(3));
        var fewer = SeatPlan.Of(Config(3, ["alice@example.test", "grace@example.test"]), seen).Organizations[0];
        Assert.That(fewer.Seated.Select(u => u.Jid), Is.EqualTo(new[] { "bob@example.test" }));
        Assert.That(fewer.OverLimit.Select(u => u.Jid), Is.EqualTo(new[] { "carol@example.test", "dave@example.test" }));
        var warning = SeatPlan.Of(Config(3, ["alice@example.test", "grace@example.test"]), seen).OverLimitWarnings().Single();
        Assert.That(warning, Does.Contain("2 user(s) seen since are NOT logged: carol@example.test (first seen 2026-11-25 09:01 UTC), dave@example.test"));
    }

    [Test]
    public void AListedUserOverTheLimitIsNotSeatedByDefaultEither()
    {
        var plan = SeatPlan.Of(Config(1, ["alice@example.test", "bob@example.test"]), Seen("bob@example.test"));
        Assert.That(plan.IsLogged("bob@example.test"), Is.False);
        Assert.That(plan.Organizations[0].Seated, Is.Empty);
    }
}

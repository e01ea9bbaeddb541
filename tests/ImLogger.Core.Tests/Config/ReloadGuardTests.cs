using ImLogger.Config;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Config;

/// <summary>The decision that keeps a half-written user list from stopping logging: sudden drops are held until confirmed.</summary>
public class ReloadGuardTests
{
    private static readonly TimeSpan ConfirmAfter = TimeSpan.FromSeconds(30);
    private static readonly string[] Three = ["alice@example.test", "bob@example.test", "carol@example.test"];

    private FakeTimeProvider _time = null!;
    private ReloadGuard _guard = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 1, 0, 0, TimeSpan.Zero));
        _guard = new ReloadGuard(_time);
    }

    private ReloadDecision Decide(string[] next, string fingerprint, bool confirm = false, TimeSpan? confirmAfter = null, string[]? now = null) =>
        _guard.Decide(now ?? Three, next, fingerprint, confirmAfter ?? ConfirmAfter, confirm);

    [TestCase(0, 0, false)]
    [TestCase(1, 0, false)]
    [TestCase(1, 1, true)]   // the only logged user: a header-only list
    [TestCase(2, 1, false)]  // half, not most
    [TestCase(2, 2, true)]
    [TestCase(3, 1, false)]
    [TestCase(3, 2, true)]
    [TestCase(10, 5, false)]
    [TestCase(10, 6, true)]
    [TestCase(1000, 1, false)]
    [TestCase(1000, 1000, true)]
    public void ASuddenDropIsAllOrMoreThanHalfOfAtLeastTwo(int before, int dropped, bool sudden) =>
        Assert.That(ReloadGuard.IsSuddenDrop(before, dropped), Is.EqualTo(sudden));

    [Test]
    public void AddingUsersOrDroppingOneOfThreeIsAppliedAtOnceAndNamesWhoIsDropped()
    {
        var added = Decide([.. Three, "dave@example.test"], "f1");
        Assert.That(added.Verdict, Is.EqualTo(ReloadVerdict.Apply));
        Assert.That(added.Dropped, Is.Empty);

        var one = Decide(["alice@example.test", "carol@example.test"], "f2");
        Assert.That(one.Verdict, Is.EqualTo(ReloadVerdict.Apply));
        Assert.That(one.Dropped, Is.EqualTo(new[] { "bob@example.test" }));
        Assert.That(_guard.Holding, Is.Null);
    }

    [Test]
    public void AHeaderOnlyListIsHeldAndAppliedOnlyWhenStillIdenticalAfterTheConfirmationPeriod()
    {
        var first = Decide([], "header-only");
        Assert.Multiple(() =>
        {
            Assert.That(first.Verdict, Is.EqualTo(ReloadVerdict.Hold));
            Assert.That(first.Dropped, Is.EqualTo(Three));
            Assert.That(first.Before, Is.EqualTo(3));
            Assert.That(first.ConfirmsAt, Is.EqualTo(_time.GetUtcNow() + ConfirmAfter));
            Assert.That(_guard.Holding, Is.EqualTo(Three));
        });

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.That(Decide([], "header-only").Verdict, Is.EqualTo(ReloadVerdict.StillHeld), "one second short: still held");

        _time.Advance(TimeSpan.FromSeconds(1));
        var confirmed = Decide([], "header-only");
        Assert.That(confirmed.Verdict, Is.EqualTo(ReloadVerdict.ApplyConfirmed));
        Assert.That(confirmed.Why, Does.Contain("identical for 30s"));
        Assert.That(_guard.Holding, Is.Null);
    }

    [Test]
    public void NewContentThatStillDropsStartsTheConfirmationPeriodAgain()
    {
        Decide([], "empty");
        _time.Advance(TimeSpan.FromSeconds(20));
        var other = Decide(["alice@example.test"], "only-alice");
        Assert.That(other.Verdict, Is.EqualTo(ReloadVerdict.Hold), "a different half list is a new warning");
        Assert.That(other.Dropped, Is.EqualTo(new[] { "bob@example.test", "carol@example.test" }));

        _time.Advance(TimeSpan.FromSeconds(15)); // 35 s after the first, 15 s after this one
        Assert.That(Decide(["alice@example.test"], "only-alice").Verdict, Is.EqualTo(ReloadVerdict.StillHeld));
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.That(Decide(["alice@example.test"], "only-alice").Verdict, Is.EqualTo(ReloadVerdict.ApplyConfirmed));
    }

    [Test]
    public void RestoredFilesWithdrawTheHeldDropAndALaterTruncationIsHeldAfresh()
    {
        Decide([], "empty");
        _time.Advance(TimeSpan.FromSeconds(25));
        Assert.That(Decide(Three, "restored").Verdict, Is.EqualTo(ReloadVerdict.Apply));
        Assert.That(_guard.Holding, Is.Null);

        _time.Advance(TimeSpan.FromSeconds(10)); // 35 s after the first truncation: that one must not count
        var again = Decide([], "empty");
        Assert.That(again.Verdict, Is.EqualTo(ReloadVerdict.Hold));
        Assert.That(again.ConfirmsAt, Is.EqualTo(_time.GetUtcNow() + ConfirmAfter));
    }

    [Test]
    public void WithConfirmDropsAfterNeverOnlyTheOperatorAppliesADrop()
    {
        var held = _guard.Decide(Three, [], "empty", null, confirmedByOperator: false);
        Assert.That(held.Verdict, Is.EqualTo(ReloadVerdict.Hold));
        Assert.That(held.ConfirmsAt, Is.Null);
        _time.Advance(TimeSpan.FromDays(3));
        Assert.That(_guard.Decide(Three, [], "empty", null, confirmedByOperator: false).Verdict, Is.EqualTo(ReloadVerdict.StillHeld));

        var confirmed = _guard.Decide(Three, [], "empty", null, confirmedByOperator: true);
        Assert.That(confirmed.Verdict, Is.EqualTo(ReloadVerdict.ApplyConfirmed));
        Assert.That(confirmed.Why, Does.Contain("imlogger reload --confirm"));
    }

    [Test]
    public void TheOperatorMayConfirmADropNeverSeenBefore()
    {
        var decision = Decide([], "empty", confirm: true);
        Assert.That(decision.Verdict, Is.EqualTo(ReloadVerdict.ApplyConfirmed));
        Assert.That(decision.Dropped, Is.EqualTo(Three));
    }

    [Test]
    public void GuardsRefuseBadArguments()
    {
        Assert.Throws<ArgumentNullException>(() => _ = new ReloadGuard(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReloadGuard.IsSuddenDrop(-1, 0));
        Assert.Throws<ArgumentNullException>(() => _guard.Decide(null!, [], "f", null, false));
        Assert.Throws<ArgumentException>(() => _guard.Decide([], [], "", null, false));
    }
}

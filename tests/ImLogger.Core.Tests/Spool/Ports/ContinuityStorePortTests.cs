using ImLogger.Continuity;

namespace ImLogger.Tests.Spool.Ports;

/// <summary><see cref="IContinuityStore"/> alone, on a real LiteDB file: what the pipeline remembers across a restart
/// (calls in progress, notices sent), replaced by id, removed by id or by kind and age.</summary>
[TestFixture]
public sealed class ContinuityStorePortTests : SpoolPortFixture
{
    private static ContinuityRecord Record(string id, string kind, DateTimeOffset at, string? value) =>
        new(id, kind, at, new Dictionary<string, string?> { ["who"] = value, ["empty"] = null });

    [Test]
    public void RecordsComeBackOldestFirstWithTheirFieldsAfterARestart()
    {
        var store = Open<IContinuityStore>();
        store.SaveContinuity([Record("call:1", "call", T0.AddMinutes(2), "alice"), Record("notice:bob", "notice", T0, "bob")], []);
        store.SaveContinuity([Record("call:1", "call", T0.AddMinutes(3), "alice again")], []); // same id: replaced

        var records = Reopen<IContinuityStore>().LoadContinuity();
        Assert.That(records.Select(r => (r.Id, r.Kind, r.AtUtc, r.Fields["who"])), Is.EqualTo(new[]
        {
            ("notice:bob", "notice", T0, (string?)"bob"),
            ("call:1", "call", T0.AddMinutes(3), (string?)"alice again"),
        }));
        Assert.That(records.All(r => r.Fields.ContainsKey("empty") && r.Fields["empty"] is null), "a field without a value stays one");
    }

    [Test]
    public void RecordsAreRemovedByIdOrByKindAndAge()
    {
        var store = Open<IContinuityStore>();
        store.SaveContinuity([
            Record("notice:old", "notice", T0, "x"), Record("notice:new", "notice", T0.AddHours(2), "y"),
            Record("call:old", "call", T0, "z"), Record("call:gone", "call", T0, "w"),
        ], []);
        store.SaveContinuity([], ["call:gone", "no-such-record"]);
        Assert.That(store.ForgetContinuity("notice", T0.AddHours(1)), Is.EqualTo(1));
        Assert.That(Reopen<IContinuityStore>().LoadContinuity().Select(r => r.Id), Is.EquivalentTo(new[] { "notice:new", "call:old" }));
    }
}

using ImLogger.Conversations;
using ImLogger.Domain;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>A refusal's rule is stored in its own field, by its stable name; spools written when the rule travelled inside
/// the reason ("rule: explanation") still read, count and render as they did.</summary>
public class RefusalRuleStorageTests : TempDirFixture
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    private static ConversationEvent Refusal(RefusalRule? rule, string reason) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = T0, Kind = EventKind.Refused, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        From = "alice@example.test/a", To = "bob@example.test", SenderBareJid = "alice@example.test", Text = "OMEMO encrypted message",
        LoggedUsers = ["alice@example.test"], RawXml = "<message/>", Rule = rule, Reason = reason,
    };

    private static string Sentence(ConversationEvent e) =>
        TranscriptMessageBuilder.EventSentence(e, new TranscriptMessageBuilder.MessageIndex([e]))!;

    /// <summary>Every stored event record of the spool file (they sit inside stored batches).</summary>
    private static List<BsonDocument> Records(LiteDatabase db) =>
        db.GetCollection(LiteDbSpool.BatchesCollection).FindAll().SelectMany(b => b[LiteDbSpool.B_Events].AsArray).Select(v => v.AsDocument).ToList();

    [Test]
    public void TheRuleIsStoredByItsStableNameApartFromTheExplanation()
    {
        var path = Path.Combine(Dir, "spool.db");
        string id;
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["local"]).Id;
            spool.Append([new SpoolAppend(id, Refusal(RefusalRule.EndToEndEncryption, "Your conversations are logged for compliance"))]);
        }
        using (var db = new LiteDatabase($"Filename={path};Connection=direct"))
        {
            var record = Records(db).Single();
            Assert.That((record["rule"].AsString, record["reason"].AsString),
                Is.EqualTo(("end-to-end-encryption", "Your conversations are logged for compliance")), "the stable name, never the C# identifier");
        }
        using (var reopened = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var e = reopened.Load(id)!.Events.Single();
            Assert.That((e.Rule, e.Reason), Is.EqualTo(((RefusalRule?)RefusalRule.EndToEndEncryption, "Your conversations are logged for compliance")));
            Assert.That(Sentence(e), Does.EndWith("(end-to-end-encryption: Your conversations are logged for compliance)"));
        }
    }

    [TestCase("unapproved-client: Your client is not approved for logged users; use one of: Conversations. (the session runs Gajim 1.7)",
        RefusalRule.UnapprovedClient, "Your client is not approved for logged users; use one of: Conversations. (the session runs Gajim 1.7)")]
    [TestCase("server-timeout: recorded above at 2026-11-30 08:59:00Z, but NOT DELIVERED: the server refused it (timeout)",
        RefusalRule.ServerTimeout, "recorded above at 2026-11-30 08:59:00Z, but NOT DELIVERED: the server refused it (timeout)")]
    [TestCase("over-limit: chat message of 312,480 bytes", RefusalRule.OverLimit, "chat message of 312,480 bytes")]
    public void ARefusalStoredWithItsRuleInTheReasonReadsAndRendersAsBefore(string earlierReason, RefusalRule rule, string explanation)
    {
        var path = Path.Combine(Dir, "earlier.db");
        string id;
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["local"]).Id;
            spool.Append([new SpoolAppend(id, Refusal(rule, explanation))]);
        }
        // Rewrite the record as versions before the rule's own field wrote it: no "rule", the rule inside the reason.
        using (var db = new LiteDatabase($"Filename={path};Connection=direct"))
        {
            var record = Records(db).Single();
            record.Remove("rule");
            record["reason"] = earlierReason;
            new StoredEventRecords(db).Update(record);
            Assert.That(Records(db).Single().ContainsKey("rule"), Is.False, "the record is in the earlier form");
        }
        using (var reopened = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var e = reopened.Load(id)!.Events.Single();
            Assert.Multiple(() =>
            {
                Assert.That(e.Rule, Is.EqualTo(rule));
                Assert.That(e.Reason, Is.EqualTo(explanation));
                Assert.That(Sentence(e), Does.EndWith($"({earlierReason})"), "the transcript line is the one the earlier version rendered");
            });
        }
    }

    [Test]
    public void AnEarlierReasonThatNamesNoRuleIsKeptWholeAsUnknown()
    {
        var (rule, explanation) = RefusalRules.FromEarlierReason("the policy said no: because");
        Assert.That((rule, explanation), Is.EqualTo((RefusalRule.Unknown, "the policy said no: because")));
        Assert.That(RefusalRules.Describe(rule, explanation), Is.EqualTo("the policy said no: because"), "shown as it was written");
        Assert.That(RefusalRules.FromEarlierReason(null), Is.EqualTo((RefusalRule.Unknown, (string?)null)));
    }

    [Test]
    public void ARuleNameThisVersionDoesNotKnowIsAClearRecordError()
    {
        var path = Path.Combine(Dir, "hostile.db");
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["local"]).Id;
            spool.Append([new SpoolAppend(id, Refusal(RefusalRule.Malformed, "ImLogger could not read this stanza."))]);
        }
        using var db = new LiteDatabase($"Filename={path};Connection=direct");
        var record = Records(db).Single();
        Assert.That(SpoolDocuments.EventProblem(record), Is.Null);
        record["rule"] = "EndToEndEncryption"; // the C# identifier is not a stored name
        Assert.That(SpoolDocuments.EventProblem(record), Is.EqualTo("its field 'rule' is 'EndToEndEncryption': this version knows no such refusal rule"));
        record["rule"] = 3;
        Assert.That(SpoolDocuments.EventProblem(record), Is.EqualTo("its field 'rule' is a 32-bit number, not the name of a refusal rule"));
    }

    [Test]
    public void ActivityWrittenWithAnUnknownRuleNameCountsItAsUnknown()
    {
        var path = Path.Combine(Dir, "activity.db");
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["local"]).Id;
            spool.Append([new SpoolAppend(id, Refusal(RefusalRule.FederatedGroupChat, "not joined"))]);
        }
        using (var db = new LiteDatabase($"Filename={path};Connection=direct"))
        {
            var activity = db.GetCollection("activity");
            var doc = activity.FindAll().Single();
            Assert.That(doc["refusedBy"].AsDocument.Keys, Is.EquivalentTo(new[] { "federated-group-chat" }), "counted under the stable name");
            doc["refusedBy"].AsDocument["unknown"] = 2L; // an earlier version's refusal with no readable rule
            doc["refused"] = 3L;
            activity.Update(doc);
        }
        using var reopened = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance);
        var alice = reopened.Activity(T0).Single();
        Assert.That(alice.RefusedBy, Is.EquivalentTo(new Dictionary<RefusalRule, long> { [RefusalRule.FederatedGroupChat] = 1, [RefusalRule.Unknown] = 2 }));
        Assert.That(alice.BlockedBy, Is.EqualTo(RefusalRule.FederatedGroupChat));
    }
}

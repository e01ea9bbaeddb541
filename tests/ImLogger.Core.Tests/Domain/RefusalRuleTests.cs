using ImLogger.Domain;

namespace ImLogger.Tests.Domain;

/// <summary>The refusal rules' stable names: what operators, dashboards and archived transcripts have always seen.</summary>
public class RefusalRuleTests
{
    [Test]
    public void EveryRuleKeepsTheNameOperatorsSee()
    {
        // These names are in archived transcripts, in report output and in the metric's "rule" label: never rename one.
        Assert.That(RefusalRules.All.Select(r => r.Name()), Is.EqualTo(new[]
        {
            "end-to-end-encryption", "encrypted-group-chat", "federated-group-chat", "unapproved-client", "over-limit",
            "encryption-disabled", "server-restriction", "malformed", "server-timeout", "unknown",
        }));
    }

    [Test]
    public void EveryNameReadsBackAsItsRuleAndNothingElseDoes()
    {
        foreach (var rule in RefusalRules.All)
        {
            Assert.That(RefusalRules.TryParse(rule.Name(), out var back), Is.True, rule.ToString());
            Assert.That(back, Is.EqualTo(rule));
        }
        foreach (var other in new[] { "", "EndToEndEncryption", "End-To-End-Encryption", " over-limit", "0", "42", "over-limit, malformed", null })
            Assert.That(RefusalRules.TryParse(other, out _), Is.False, other ?? "null");
    }

    [Test]
    public void NoTwoRulesShareAName() =>
        Assert.That(RefusalRules.All.Select(r => r.Name()), Is.Unique);
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The metric names an operator meets in three places agree: the table in docs/admin-guide.md ("Metrics and
/// health"), the sample alert rules (integrations/prometheus/imlogger-alerts.yml, which the package installs) and the
/// instruments the code creates. An alert on a renamed series would never fire, silently.</summary>
[TestFixture]
public class MetricsDocsTests
{
    private static string Read(params string[] path) => File.ReadAllText(Path.Combine([Paths.RepoRoot, .. path]));

    /// <summary>The series in the admin guide's table (its first column).</summary>
    private static HashSet<string> Documented() =>
        Regex.Matches(Read("docs", "admin-guide.md"), @"^\s*\| `(imlogger_[a-z_]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();

    [Test]
    public void EverySeriesTheAlertsUseIsDocumented()
    {
        var documented = Documented();
        Assert.That(documented, Has.Count.GreaterThanOrEqualTo(8), "the admin guide's metrics table");
        var alerts = Read("integrations", "prometheus", "imlogger-alerts.yml");
        var used = Regex.Matches(alerts, @"\bimlogger_[a-z_]+").Select(m => m.Value).ToHashSet();
        Assert.That(used, Is.Not.Empty);
        Assert.That(used.Except(documented), Is.Empty, "series the alert rules use that the admin guide does not list");
        // Each rule has what Prometheus requires of an alerting rule (promtool below checks the whole file where it exists).
        var rules = Regex.Split(alerts, @"^\s*- alert: ", RegexOptions.Multiline).Skip(1).ToList();
        Assert.That(rules, Has.Count.GreaterThanOrEqualTo(5));
        Assert.That(rules, Has.All.Match(@"^[A-Za-z][A-Za-z0-9]*\s*\n\s+expr: \S").And.All.Contains("summary:"));
    }

    [Test]
    public void EveryDocumentedSeriesIsAnInstrumentOfTheCode()
    {
        // Instruments are created under dotted names ("imlogger.transcripts.pending"); the exporter writes them with
        // underscores, counters with _total. The exposition itself is checked against a live service by MetricsHealthTests.
        var code = string.Join('\n', new[] { "src/ImLogger.Core/Telemetry/ImLoggerMetrics.cs", "src/ImLogger.Host/MetricsService.cs" }
            .Select(p => Read(p.Split('/'))));
        var instruments = Regex.Matches(code, @"Create(Counter|ObservableGauge)<?[a-z]*>?\(""(imlogger\.[a-z_.]+)""")
            .Select(m => m.Groups[2].Value.Replace('.', '_') + (m.Groups[1].Value == "Counter" ? "_total" : "")).ToHashSet();
        Assert.That(instruments, Is.EquivalentTo(Documented()), "the admin guide's table and the code's instruments");
    }

    [Test]
    public void PromtoolAcceptsTheAlertRules()
    {
        // PROMTOOL: a promtool that is not installed, e.g. taken out of Debian's package with dpkg-deb -x.
        var promtool = new[] { Environment.GetEnvironmentVariable("PROMTOOL") ?? "", "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        if (promtool is null) Assert.Ignore("promtool is not installed (Debian package prometheus, or PROMTOOL=path); the structure is checked by EverySeriesTheAlertsUseIsDocumented");
        var psi = new ProcessStartInfo(promtool, ["check", "rules", Path.Combine(Paths.RepoRoot, "integrations", "prometheus", "imlogger-alerts.yml")])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, output);
    }
}

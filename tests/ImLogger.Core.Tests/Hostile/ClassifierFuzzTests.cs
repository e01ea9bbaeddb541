using System.Reflection;
using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Envelope;
using ImLogger.Notifier;
using ImLogger.Tests.Classifier;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Hostile;

/// <summary>
/// The stages after the parser on mutated real stanzas (every recording under Resources/): envelope decoding,
/// classification, dedup and the notifier must decide something for any well-formed stanza and never throw. An
/// exception there would end the component's processing loop, so one odd stanza would stop archiving for everyone.
/// </summary>
public class ClassifierFuzzTests
{
    private static IReadOnlyList<XElement> Corpus() =>
        typeof(ClassifierFuzzTests).Assembly.GetManifestResourceNames()
            .Where(n => n.EndsWith(".xml", StringComparison.Ordinal))
            .SelectMany(n => Recordings.Stanzas(n["ImLogger.Core.Tests.Resources.".Length..]))
            .ToList();

    [Test]
    public void MutatedStanzasAreDecidedWithoutException()
    {
        var corpus = Corpus();
        Assert.That(corpus, Has.Count.GreaterThan(50), "the recordings are the fuzz corpus");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero));
        var logged = new HashSet<string>(["alice@example.test", "bob@example.test"]);
        var decoder = new EnvelopeDecoder(["example.test"], "archive.example.test", time);
        var classifier = new StanzaClassifier(logged.Contains);
        var dedup = new CopyDeduplicator(TimeSpan.FromSeconds(60), time);
        var notifier = new ArchiveNotifier(_ => null, "archive.example.test", time);
        var mutator = new Mutator(FuzzBudget.Seed);
        var budget = System.Diagnostics.Stopwatch.StartNew();
        int runs = 0, archived = 0;
        for (; runs < FuzzBudget.MaxRuns(50_000) && budget.Elapsed < FuzzBudget.Duration; runs++)
        {
            var original = mutator.Pick(corpus);
            var stanza = mutator.Mutate(original);
            time.Advance(TimeSpan.FromMilliseconds(mutator.Next(3000)));
            try
            {
                // Recorded tap copies go through the decoder; the client-XML fixtures are the forwarded stanza itself.
                var envelope = original.Name.Namespace == "jabber:component:accept"
                    ? decoder.Decode(stanza).Envelope
                    : new TapEnvelope(stanza, "example.test", time.GetUtcNow());
                if (envelope == null) continue;
                var events = classifier.Classify(envelope).Events.Where(e => !dedup.IsRepeat(e)).ToList();
                archived += notifier.Observe(events).Events.Count;
            }
            catch (Exception e) when (e is not AssertionException)
            {
                Assert.Fail($"seed {FuzzBudget.Seed}, run {runs}: {e.GetType().Name}: {e.Message}\n--- stanza ---\n{stanza}\n--- stack ---\n{e.StackTrace}");
            }
        }
        TestContext.Out.WriteLine($"{runs} mutated stanzas, {archived} events");
        Assert.That(runs, Is.GreaterThan(1000), "the fuzz budget ran");
    }
}

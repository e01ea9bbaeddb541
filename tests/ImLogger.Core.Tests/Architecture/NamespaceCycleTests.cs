using System.Reflection;
using ImLogger.Ingest;
using NetArchTest.Rules;

namespace ImLogger.Tests.Architecture;

/// <summary>
/// Core without cycles (issue 15): the namespaces of ImLogger.Core form a graph with no cycle, so each stage can be
/// read, tested and replaced against the domain and its ports alone. Dependencies are read from the compiled assembly
/// (NetArchTest: signatures, fields, locals, calls), not from using lines. LiteDB counts as the spool's inside: whoever
/// uses it depends on the spool.
/// </summary>
public class NamespaceCycleTests
{
    private static readonly Assembly Core = typeof(IngestLoop).Assembly;

    /// <summary>Edges being removed in parallel by other work on issue 15, and nothing else. Remove an entry when its
    /// edge is gone (<see cref="TheTemporaryExclusionsAreStillNeeded"/> says when).</summary>
    private static readonly (string From, string To, string Why)[] TemporaryExclusions = [];

    /// <summary>Where a dependency on an outside namespace lands in the graph.</summary>
    private static string Node(string target) => target == "LiteDB" ? "ImLogger.Spool" : target;

    private static IReadOnlyList<string> Namespaces() =>
        Core.GetTypes().Select(t => t.Namespace).OfType<string>().Where(n => n.StartsWith("ImLogger.", StringComparison.Ordinal)).Distinct().Order().ToList();

    private static readonly Lazy<Dictionary<(string From, string To), IReadOnlyList<string>>> AllEdges = new(ReadEdges);

    private static Dictionary<(string From, string To), IReadOnlyList<string>> Edges() => AllEdges.Value;

    /// <summary>Every dependency between two namespaces, with the types that make it.</summary>
    private static Dictionary<(string From, string To), IReadOnlyList<string>> ReadEdges()
    {
        var namespaces = Namespaces();
        var edges = new Dictionary<(string, string), IReadOnlyList<string>>();
        foreach (var from in namespaces)
        {
            foreach (var to in namespaces.Where(n => n != from).Append("LiteDB"))
            {
                var result = Types.InAssembly(Core).That().ResideInNamespace(from).Should().NotHaveDependencyOn(to).GetResult();
                // ResideInNamespace matches by prefix: keep only the types of this very namespace.
                var types = (result.FailingTypeNames ?? []).Where(t => t.StartsWith(from + ".", StringComparison.Ordinal) && !t[(from.Length + 1)..].Contains('.')).ToList();
                if (!result.IsSuccessful && types.Count > 0) edges[(from, to)] = types;
            }
        }
        return edges;
    }

    [Test]
    public void CoreNamespacesFormNoCycle()
    {
        var edges = Edges();
        var graph = edges.Keys.Where(e => !TemporaryExclusions.Any(x => x.From == e.From && x.To == e.To))
            .GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => Node(e.To)).Where(t => t != g.Key).ToHashSet());
        var cycles = StronglyConnected(Namespaces(), graph).Where(c => c.Count > 1).ToList();
        var report = string.Join("\n", cycles.Select(c => "cycle: " + string.Join(", ", c) + "\n" + string.Join("\n",
            edges.Where(e => c.Contains(e.Key.From) && c.Contains(Node(e.Key.To)) && e.Key.From != Node(e.Key.To))
                .Select(e => $"  {e.Key.From} -> {e.Key.To}: {string.Join(", ", e.Value.Take(4))}"))));
        Assert.That(cycles, Is.Empty, "a namespace of ImLogger.Core depends on itself through others: move the shared types into " +
                                      "ImLogger.Domain or behind a port\n" + report);
    }

    [Test]
    public void TheDomainDependsOnNoOtherNamespaceOfCore()
    {
        var edges = Edges().Where(e => e.Key.From == "ImLogger.Domain").ToList();
        Assert.That(edges.Select(e => $"{e.Key.To}: {string.Join(", ", e.Value)}"), Is.Empty);
    }

    [Test]
    public void TheTemporaryExclusionsAreStillNeeded()
    {
        var edges = Edges();
        Assert.That(TemporaryExclusions.Where(x => !edges.ContainsKey((x.From, x.To))).Select(x => $"{x.From} -> {x.To}"), Is.Empty,
            "this edge is gone: remove its exclusion so that it cannot come back");
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(IReadOnlyList<string> nodes, Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }
        foreach (var n in nodes.Where(n => !index.ContainsKey(n))) Visit(n);
        return result;
    }
}

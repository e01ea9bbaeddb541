using System.Reflection;
using ImLogger.Ingest;
using NetArchTest.Rules;

namespace ImLogger.Tests.Architecture;

/// <summary>The spool as stores behind ports (issue 15): outside the storage code, Core's stages depend on the narrow
/// ports (<c>ITranscriptStore</c>, <c>IDeliveryQueue</c>, ...), never on the spool's implementation nor on the wide
/// <c>ISpool</c> that only the host's wiring uses. Read from the compiled assembly (signatures, fields, calls).</summary>
public class SpoolPortRuleTests
{
    private static readonly Assembly Core = typeof(IngestLoop).Assembly;

    [Test]
    public void StagesDependOnPortsNotOnTheWholeSpool()
    {
        var result = Types.InAssembly(Core).That().DoNotResideInNamespace("ImLogger.Spool")
            .Should().NotHaveDependencyOnAny("ImLogger.Spool.LiteDbSpool", "ImLogger.Spool.ISpool").GetResult();
        Assert.That(result.FailingTypeNames ?? [], Is.Empty, "take the port the stage uses (ImLogger.Spool.I*Store, IDeliveryQueue, ...)");
    }

    [Test]
    public void TheRuleSeesADependencyOnTheSpool()
    {
        var result = Types.InAssembly(Core).That().ResideInNamespace("ImLogger.Dispatch")
            .Should().NotHaveDependencyOnAny("ImLogger.Spool.IDeliveryQueue").GetResult();
        Assert.That(result.IsSuccessful, Is.False, "the dispatcher depends on the delivery queue: the check can fail");
    }
}

using System.Reflection;
using ImLogger.Continuity;
using ImLogger.Conversations;
using ImLogger.Domain;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Spool;

namespace ImLogger.Tests.Spool.Ports;

/// <summary>LiteDB stays behind the ports (issue 15): no port's signature, nor any type it hands out or takes in, names a
/// LiteDB type; and a store's refusal leaves every port as the spool's own exception, never as LiteDB's.</summary>
[TestFixture]
public sealed class PortBoundaryTests : SpoolPortFixture
{
    /// <summary>Every port of the spool the stages and the host depend on.</summary>
    private static readonly Type[] Ports =
    [
        typeof(ISpool), typeof(ITranscriptReader), typeof(ITranscriptStore), typeof(IDeliveryQueue), typeof(IActivityLog),
        typeof(ISpoolHealth), typeof(ISeenUsers), typeof(IEncryptedRoomStore), typeof(IContinuityStore), typeof(IAnsweredRequests),
        typeof(IUnitOfWork),
    ];

    /// <summary>The LiteDB types reachable from <paramref name="port"/>'s members: their parameters, results and properties,
    /// through generic arguments, arrays and the public properties of the project's own types they use.</summary>
    private static List<string> LiteDbTypesIn(Type port)
    {
        var found = new List<string>();
        var seen = new HashSet<Type>();
        void Visit(Type type, string where)
        {
            if (type.IsByRef || type.IsArray || type.IsPointer) { Visit(type.GetElementType()!, where); return; }
            if (!seen.Add(type)) return;
            if (type.Assembly.GetName().Name == "LiteDB" || type.Namespace?.StartsWith("LiteDB", StringComparison.Ordinal) == true)
            {
                found.Add($"{where}: {type.FullName}");
                return;
            }
            foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : []) Visit(argument, where);
            if (type.Namespace?.StartsWith("ImLogger", StringComparison.Ordinal) != true || type.IsGenericParameter) return;
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                Visit(property.PropertyType, $"{where} -> {type.Name}.{property.Name}");
            if (type.BaseType is { } baseType) Visit(baseType, where);
        }
        foreach (var iface in port.GetInterfaces().Append(port))
        {
            foreach (var method in iface.GetMethods())
            {
                var where = $"{iface.Name}.{method.Name}";
                Visit(method.ReturnType, where);
                foreach (var parameter in method.GetParameters()) Visit(parameter.ParameterType, $"{where}({parameter.Name})");
            }
            foreach (var property in iface.GetProperties()) Visit(property.PropertyType, $"{iface.Name}.{property.Name}");
        }
        return found;
    }

    [Test]
    public void NoPortSignatureNamesALiteDbType()
    {
        Assert.That(Ports.SelectMany(LiteDbTypesIn), Is.Empty, "hand out the domain's types (TranscriptHeader, ConversationEvent...), not LiteDB's");
    }

    /// <summary>The check itself finds a LiteDB type however deep it sits.</summary>
    private interface ILeakyPort
    {
        IReadOnlyList<Leaky> Read(string id);
    }

    private sealed record Leaky(Dictionary<string, LiteDB.BsonValue> Fields);

    [Test]
    public void TheCheckFindsALiteDbTypeBehindARecordAndAGeneric()
    {
        Assert.That(LiteDbTypesIn(typeof(ILeakyPort)), Has.Some.Contains("LiteDB.BsonValue"));
    }

    [Test]
    public void TheHostsSpoolIsEveryPortOnOneStore()
    {
        var spool = Open<ISpool>();
        Assert.That(Ports.Where(p => !p.IsInstanceOfType(spool)).Select(p => p.Name), Is.Empty);
        Assert.That(Ports.Where(p => p != typeof(ISpool) && p != typeof(IUnitOfWork) && !p.IsAssignableFrom(typeof(ISpool))).Select(p => p.Name),
            Is.Empty, "ISpool composes every port but the unit of work (a stage that finds a unit of work uses it: a mock of ISpool must not offer one)");
    }

    /// <summary>Over LiteDB's 16 MB document limit, and random so that no encoding of the record can shrink it under: LiteDB
    /// refuses the record.</summary>
    private static readonly string Huge = Convert.ToBase64String(RandomBytes(13 * 1024 * 1024));

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(15).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public void ARecordTheStoreRefusesLeavesEachWritingPortAsTheSpoolsOwnError()
    {
        var spool = Open<ISpool>();
        var refusals = new Dictionary<string, TestDelegate>
        {
            ["transcripts (open)"] = () => spool.OpenTranscript(ConversationType.OneToOne, Huge, T0, ["dir"]),
            ["transcripts (append)"] = () =>
            {
                var header = spool.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
                spool.Append([new SpoolAppend(header.Id, Chat(Huge, T0))]);
            },
            ["seats"] = () => ((ISeenUsers)spool).AddSeenUser(new SeenUser(Huge, T0)),
            ["rooms"] = () => ((IEncryptedRoomStore)spool).AddLearnedEncryptedRoom("room@conference.example.test", Huge),
            ["continuity"] = () => ((IContinuityStore)spool).SaveContinuity(
                [new ContinuityRecord("call:1", "call", T0, new Dictionary<string, string?> { ["huge"] = Huge })], []),
            // Last: a refused answered record stays queued for the retry, so every later write of this spool fails with it.
            ["answered"] = () =>
            {
                ((IAnsweredRequests)spool).RememberAnswered("req-1", [Chat(Huge, T0)]);
                ((IAnsweredRequests)spool).FlushAnswered();
            },
        };
        var outcomes = new List<string>();
        foreach (var (port, write) in refusals)
        {
            try
            {
                write();
                outcomes.Add($"{port}: accepted");
            }
            catch (Exception e)
            {
                if (e is not SpoolUnavailableException) outcomes.Add($"{port}: {e.GetType().FullName}");
            }
        }
        Assert.That(outcomes, Is.Empty, "every refusal leaves as SpoolUnavailableException (what the stages catch and retry)");
        Assert.That(spool.OpenTranscripts().Select(h => h.EventCount), Is.EqualTo(new[] { 0 }), "nothing of a refused write is kept; the spool still works");
    }
}

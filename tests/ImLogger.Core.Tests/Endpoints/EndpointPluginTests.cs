using System.Runtime.Loader;
using System.Text.Json;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Endpoints;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Endpoints;

/// <summary>Endpoint types from outside the repository: the sample plug-in (samples/ImLogger.SamplePlugin) and a hostile
/// one (tests/Plugins/ImLogger.HostilePlugin), loaded from a plug-ins folder named in the config, each in its own load
/// context, delivering real transcripts; and every way a plug-in can be wrong, refused with file, line and cause.</summary>
public class EndpointPluginTests : TempDirFixture
{
    private string Plugins => Path.Combine(Dir, "plugins");

    private string Write(string endpoints, string pluginsAttribute = " plugins=\"plugins\"")
    {
        var path = Path.Combine(Dir, $"{Guid.NewGuid():N}.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="first" seats="5"><user jid="alice@example.test" /></organization>
              <endpoints{pluginsAttribute}>
                {endpoints}
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    private ImLoggerConfig Load(string endpoints) => ConfigLoader.Load(Write(endpoints), _ => "s3cret");

    private ConfigException Refused(string endpoints) => Assert.Throws<ConfigException>(() => Load(endpoints))!;

    private static Transcript Transcript(string text) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        OpenedUtc = DateTimeOffset.UnixEpoch, ClosedUtc = DateTimeOffset.UnixEpoch.AddMinutes(1),
        Events =
        [
            new ConversationEvent
            {
                Id = Guid.NewGuid().ToString("N"), ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = EventKind.Message, Direction = Direction.Outgoing,
                ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
                From = "alice@example.test/laptop", To = "bob@example.test", Text = text, LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
            },
        ],
    };

    [Test]
    public async Task SamplePlugin_NamedInTheConfig_LoadsInItsOwnContext_AndDeliversATranscriptAsJsonLines()
    {
        PluginFolder.Install(Plugins, "ImLogger.SamplePlugin");
        var config = Load("""<endpoint name="first" plugin="ImLogger.SamplePlugin" type="json-lines" folder="jsonl" max-attempts="4" />""");
        var endpoint = config.Endpoints.Single();
        var type = EndpointCatalog.Of(endpoint);
        Assert.Multiple(() =>
        {
            Assert.That(endpoint.TypeName, Is.EqualTo("json-lines"));
            Assert.That(endpoint.MaxAttempts, Is.EqualTo(4), "max-attempts is read by the loader for every type");
            Assert.That(AssemblyLoadContext.GetLoadContext(endpoint.GetType().Assembly), Is.Not.SameAs(AssemblyLoadContext.Default), "its own load context");
            Assert.That(AssemblyLoadContext.GetLoadContext(typeof(EndpointType).Assembly), Is.SameAs(AssemblyLoadContext.Default), "the contract is the host's");
            Assert.That(type.GetType().Assembly.GetName().Name, Is.EqualTo("ImLogger.SamplePlugin"));
            Assert.That(EndpointSinks.Describe(endpoint), Is.EqualTo($"json-lines files in {Path.Combine(Dir, "jsonl")} [plug-in ImLogger.SamplePlugin]"));
        });

        var sink = EndpointSinks.Create(endpoint, NullLoggerFactory.Instance, "imlogger@archive.example.test");
        var transcript = Transcript("hello from a plug-in");
        await sink.DeliverAsync(transcript, CancellationToken.None);
        await sink.DeliverAsync(transcript, CancellationToken.None); // a redelivery replaces, never adds

        var files = Directory.GetFiles(Path.Combine(Dir, "jsonl"));
        Assert.That(files.Select(Path.GetFileName), Is.EqualTo(new[] { transcript.Id + ".jsonl" }));
        var lines = File.ReadAllLines(files[0]).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Count.EqualTo(2));
            Assert.That(lines[0].GetProperty("conversation").GetString(), Is.EqualTo("alice@example.test bob@example.test"));
            Assert.That(lines[1].GetProperty("kind").GetString(), Is.EqualTo("Message"));
            Assert.That(lines[1].GetProperty("text").GetString(), Is.EqualTo("hello from a plug-in"));
        });

        var check = await type.CheckAsync(endpoint, new SinkContext(NullLoggerFactory.Instance, "imlogger@archive.example.test"), false, CancellationToken.None);
        Assert.That(check.Single().Ok, Is.True, check.Single().Detail);
    }

    [Test]
    public void SamplePlugin_AReloadThatChangesItsSetting_IsSeenByValue_AndRebuildsItsSink()
    {
        PluginFolder.Install(Plugins, "ImLogger.SamplePlugin");
        var running = Load("""<endpoint name="first" plugin="ImLogger.SamplePlugin" folder="one" />""");
        var same = Load("""<endpoint name="first" plugin="ImLogger.SamplePlugin" folder="one" />""");
        var moved = Load("""<endpoint name="first" plugin="ImLogger.SamplePlugin" folder="two" />""");
        var live = new LiveSinks(running.Endpoints, e => EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@archive.example.test"));
        var before = live.Sinks[0].Current;
        Assert.Multiple(() =>
        {
            Assert.That(EndpointChanges.Between(running.Endpoints, same.Endpoints), Is.Empty, "two loads of the same file are equal");
            Assert.That(live.Apply(moved.Endpoints).Select(c => c.ToString()), Is.EqualTo(new[] { "endpoint 'first' (folder)" }));
            Assert.That(live.Sinks[0].Current, Is.Not.SameAs(before));
        });
    }

    [Test]
    public async Task TwoPluginsClaimingTheSameTypeName_EachEndpointGetsItsOwnPlugin_AndSwappingThemNeedsARestart()
    {
        PluginFolder.Install(Plugins, "ImLogger.SamplePlugin");
        PluginFolder.Install(Plugins, "ImLogger.HostilePlugin");
        var config = Load("""
            <endpoint name="first" plugin="ImLogger.SamplePlugin" type="json-lines" folder="a" />
            <endpoint name="second" plugin="ImLogger.HostilePlugin" type="json-lines" folder="b" />
            """);
        Directory.CreateDirectory(Path.Combine(Dir, "b"));
        var transcript = Transcript("x");
        foreach (var e in config.Endpoints)
            await EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@archive.example.test").DeliverAsync(transcript, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(Path.Combine(Dir, "a", transcript.Id + ".jsonl")), "the sample's sink wrote json lines");
            Assert.That(File.Exists(Path.Combine(Dir, "b", "look-alike-" + transcript.Id)), "the look-alike's sink left its mark");
            Assert.That(config.Endpoints[0].GetType(), Is.Not.EqualTo(config.Endpoints[1].GetType()));
        });
        var swapped = Load("""
            <endpoint name="first" plugin="ImLogger.HostilePlugin" type="json-lines" folder="a" />
            <endpoint name="second" plugin="ImLogger.HostilePlugin" type="json-lines" folder="b" />
            """);
        Assert.That(ConfigHolder.NeedsRestart(config, swapped),
            Does.Contain("endpoint 'first' (type json-lines (ImLogger.SamplePlugin) → json-lines (ImLogger.HostilePlugin))").And.Contain("restart"));
    }

    [Test]
    public void PluginNotFound_NamesBothPlacesLookedAt()
    {
        var error = Refused("""<endpoint name="first" plugin="Acme.Missing" />""");
        Assert.Multiple(() =>
        {
            Assert.That(error.Line, Is.EqualTo(6), error.Message);
            Assert.That(error.Problem, Does.Contain("plugin 'Acme.Missing' not found").And.Contain(Path.Combine(Plugins, "Acme.Missing", "Acme.Missing.dll")));
        });
    }

    [Test]
    public void DefaultPluginsFolder_IsUsedWithoutTheAttribute()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write("""<endpoint name="first" plugin="Acme.Missing" />""", pluginsAttribute: ""), _ => "s"))!;
        Assert.That(error.Problem, Does.Contain("/usr/lib/imlogger/plugins/Acme.Missing/Acme.Missing.dll"));
    }

    [TestCase("../../etc/evil")]
    [TestCase("/tmp/evil")]
    [TestCase(".hidden")]
    public void APluginNameThatIsAPath_IsRefused(string plugin)
    {
        var error = Refused($"""<endpoint name="first" plugin="{plugin}" />""");
        Assert.That(error.Problem, Does.Contain("plugin must be an assembly name"));
    }

    [Test]
    public void ANonDotNetFile_IsRefusedAsSuch()
    {
        Directory.CreateDirectory(Path.Combine(Plugins, "Junk"));
        File.WriteAllBytes(Path.Combine(Plugins, "Junk", "Junk.dll"), [0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 2, 3]);
        Assert.That(Refused("""<endpoint name="first" plugin="Junk" />""").Problem, Does.Contain("is not a .NET assembly"));
    }

    [Test]
    public void AnAssemblyWithoutARegistration_IsRefused_SayingWhatItNeeds()
    {
        Directory.CreateDirectory(Path.Combine(Plugins, "ImLogger.Xmpp"));
        File.Copy(typeof(ImLogger.Xmpp.Jid).Assembly.Location, Path.Combine(Plugins, "ImLogger.Xmpp", "ImLogger.Xmpp.dll"));
        Assert.That(Refused("""<endpoint name="first" plugin="ImLogger.Xmpp" />""").Problem,
            Does.Contain("has no endpoint type").And.Contain("ImLogger.Endpoints.EndpointType<TConfig>"));
    }

    [Test]
    public void SeveralTypes_WithoutOrWithAWrongType_AreRefusedListingThem()
    {
        PluginFolder.Install(Plugins, "ImLogger.HostilePlugin");
        Assert.Multiple(() =>
        {
            Assert.That(Refused("""<endpoint name="first" plugin="ImLogger.HostilePlugin" />""").Problem,
                Does.Contain("has several endpoint types").And.Contain("throws-on-create").And.Contain("type=\"...\""));
            Assert.That(Refused("""<endpoint name="first" plugin="ImLogger.HostilePlugin" type="nope" />""").Problem,
                Does.Contain("has no endpoint type 'nope'").And.Contain("json-lines"));
        });
    }

    [Test]
    public void AReaderThatThrows_RefusesTheConfigAtTheEndpointsLine_NamingThePluginAndCause()
    {
        PluginFolder.Install(Plugins, "ImLogger.HostilePlugin");
        var error = Refused("""<endpoint name="first" plugin="ImLogger.HostilePlugin" type="throws-on-read" />""");
        Assert.Multiple(() =>
        {
            Assert.That(error.Line, Is.EqualTo(6));
            Assert.That(error.Problem, Does.Contain("plugin 'ImLogger.HostilePlugin' failed to read endpoint 'first'").And.Contain("NullReferenceException"));
        });
    }

    [Test]
    public void APluginsOwnAttributeTypo_IsRefusedByItsReader_WithTheLine()
    {
        PluginFolder.Install(Plugins, "ImLogger.SamplePlugin");
        var error = Refused("""<endpoint name="first" plugin="ImLogger.SamplePlugin" foldr="x" />""");
        Assert.Multiple(() =>
        {
            Assert.That(error.Line, Is.EqualTo(6));
            Assert.That(error.Problem, Does.Contain("has no attribute 'foldr'").And.Contain("folder"));
        });
    }

    [Test]
    public void AFactoryThatThrows_FailsNamingTheEndpointAndTheCause()
    {
        PluginFolder.Install(Plugins, "ImLogger.HostilePlugin");
        var bad = Load("""<endpoint name="first" plugin="ImLogger.HostilePlugin" type="throws-on-create" />""").Endpoints.Single();
        var error = Assert.Throws<InvalidOperationException>(() => EndpointSinks.Create(bad, NullLoggerFactory.Instance, "imlogger@a.test"))!;
        Assert.That(error.Message, Does.Contain("endpoint 'first' (type throws-on-create): its sink cannot be built").And.Contain("the hostile factory throws"));
    }

    [Test]
    public void ASinkThatThrowsFromDeliver_LetsTheExceptionReachTheDispatcher_Unchanged()
    {
        PluginFolder.Install(Plugins, "ImLogger.HostilePlugin");
        var config = Load("""<endpoint name="first" plugin="ImLogger.HostilePlugin" type="throws-on-deliver" />""");
        var live = new LiveSinks(config.Endpoints, e => EndpointSinks.Create(e, NullLoggerFactory.Instance, "imlogger@a.test"));
        // The dispatcher counts any exception other than a SinkException as transient (DispatcherTests): retried, never lost.
        Assert.ThrowsAsync<InvalidOperationException>(() => live.Sinks[0].DeliverAsync(Transcript("x"), CancellationToken.None));
    }

    [Test]
    public void ABuiltInElement_WithAPluginAttribute_IsRefused()
    {
        var error = Refused("""<directory name="first" path="archive" plugin="ImLogger.SamplePlugin" />""");
        Assert.That(error.Problem, Does.Contain("built-in endpoint type").And.Contain("<endpoint name="));
    }
}

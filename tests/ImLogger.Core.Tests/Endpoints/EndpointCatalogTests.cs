using ImLogger.Config;
using ImLogger.Endpoints;
using ImLogger.Sinks;

namespace ImLogger.Tests.Endpoints;

/// <summary>How registrations are found: the built-in ones from ImLogger's assembly, and the refusals of a bad one.</summary>
public class EndpointCatalogTests
{
    [Test]
    public void BuiltInTypes_AreTheRegistrationsOfImLoggersAssembly()
    {
        Assert.That(EndpointCatalog.BuiltInNames, Is.EqualTo(new[] { "directory", "drc-cm", "global-relay", "secure-smtp" }));
        Assert.That(EndpointCatalog.BuiltIn("secure-smtp"), Is.InstanceOf<SecureSmtpEndpointType>());
        Assert.That(EndpointCatalog.Of(new DirectoryEndpointConfig { Name = "d", Path = "/x" }), Is.InstanceOf<DirectoryEndpointType>());
    }

    [Test]
    public void TwoRegistrationsClaimingOneName_AreRefusedNamingBoth()
    {
        var error = Assert.Throws<PluginException>(() => EndpointCatalog.Discover([typeof(TwinOne), typeof(TwinTwo)], "plugin 'Twins'"))!;
        Assert.That(error.Message, Does.Contain("two endpoint types claim the name 'twin'").And.Contain(nameof(TwinOne)).And.Contain(nameof(TwinTwo)));
    }

    [Test]
    public void ARegistrationThatThrowsWhenCreated_IsRefusedWithTheCause()
    {
        var error = Assert.Throws<PluginException>(() => EndpointCatalog.Discover([typeof(ThrowsWhenCreated)], "plugin 'X'"))!;
        Assert.That(error.Message, Does.Contain("throws when created").And.Contain("no licence file"));
    }

    [Test]
    public void ABadTypeName_IsRefused()
    {
        var error = Assert.Throws<PluginException>(() => EndpointCatalog.Discover([typeof(BadName)], "plugin 'X'"))!;
        Assert.That(error.Message, Does.Contain("has the type name 'Bad Name'"));
    }

    [Test]
    public void SettingsAnotherTypeAlreadyReads_AreRefused()
    {
        var error = Assert.Throws<PluginException>(() => EndpointCatalog.Discover([typeof(StealsDirectory)], "plugin 'X'"))!;
        Assert.That(error.Message, Does.Contain("which endpoint type 'directory' already reads"));
    }
}

/// <summary>Test registrations (top-level and public, as a plug-in's must be).</summary>
public abstract class TestTypeBase : EndpointType<DirectoryEndpointConfig>
{
    protected override DirectoryEndpointConfig ReadSettings(EndpointElement element) => throw new NotSupportedException();

    protected override ITranscriptSink CreateSink(DirectoryEndpointConfig config, SinkContext context) => throw new NotSupportedException();

    protected override string Describe(DirectoryEndpointConfig config) => "";

    protected override Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(DirectoryEndpointConfig config, SinkContext context, bool sendProbe, CancellationToken cancellationToken) =>
        throw new NotSupportedException();
}

public sealed class TwinOne : TestTypeBase
{
    public override string TypeName => "twin";
}

public sealed class TwinTwo : TestTypeBase
{
    public override string TypeName => "twin";
}

public sealed class ThrowsWhenCreated : TestTypeBase
{
    public ThrowsWhenCreated() => throw new InvalidOperationException("no licence file");

    public override string TypeName => "throws";
}

public sealed class BadName : TestTypeBase
{
    public override string TypeName => "Bad Name";
}

public sealed class StealsDirectory : TestTypeBase
{
    public override string TypeName => "steals-directory";
}

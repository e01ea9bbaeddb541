using ImLogger.Config;

namespace ImLogger.Core.Tests.Config;

/// <summary>Tap mode is an explicit choice; what it cannot enforce is named, setting by setting (issue 16).</summary>
[TestFixture]
public class TapLimitationsTests
{
    private static ImLoggerConfig Config(AttachMode mode, bool approvedClients, params string[] encryptedRooms) => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s3cret-component", SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Endpoints = [new DirectoryEndpointConfig { Name = "a", Path = "/tmp/a" }],
        Attach = new AttachSettings { Mode = mode },
        Restrictions = new RestrictionSettings { EncryptedRooms = encryptedRooms },
        Organizations =
        [
            new OrganizationConfig
            {
                Name = "example.test", Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)],
                ApprovedClients = approvedClients ? [new ApprovedClient("Gajim", null, new Version(1, 8))] : null,
            },
        ],
    };

    [Test]
    public void InlineModeHasNothingToWarnAbout() =>
        Assert.That(TapLimitations.Warnings(Config(AttachMode.Inline, true, "secret@conference.example.test")), Is.Empty);

    [Test]
    public void TapModeNamesEachRestrictionItCannotEnforce()
    {
        var warnings = TapLimitations.Warnings(Config(AttachMode.Tap, true, "secret@conference.example.test", "other@conference.example.test"));
        Assert.Multiple(() =>
        {
            Assert.That(warnings, Has.One.Contains("<approved-clients> (Gajim 1.8 or later) is NOT enforced").And.Contains("example.test"));
            Assert.That(warnings, Has.One.Contains("encrypted-room jid=\"secret@conference.example.test\"").And.Contains("NOT enforced"));
            Assert.That(warnings, Has.One.Contains("encrypted-room jid=\"other@conference.example.test\""));
            Assert.That(warnings, Has.One.Contains("end-to-end encrypted messages"));
            Assert.That(warnings, Has.One.Contains("cannot refuse anything").And.Contains("mode=\"inline\""));
        });
    }

    [Test]
    public void TapModeWithoutRestrictionsStillSaysItCannotRefuse()
    {
        var warnings = TapLimitations.Warnings(Config(AttachMode.Tap, false));
        Assert.That(warnings.Any(w => w.Contains("approved-clients", StringComparison.Ordinal) || w.Contains("encrypted-room", StringComparison.Ordinal)), Is.False);
        Assert.That(warnings, Has.One.Contains("cannot refuse anything"));
    }
}

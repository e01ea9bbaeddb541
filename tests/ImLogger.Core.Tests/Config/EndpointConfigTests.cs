using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary>The endpoint types in the config: defaults, secrets, TLS rules, and errors that name line and problem.</summary>
public class EndpointConfigTests : TempDirFixture
{
    /// <summary>Loads a config whose &lt;endpoints&gt; is <paramref name="endpoints"/> (on line 6 onwards).</summary>
    private ImLoggerConfig Load(string endpoints, string endpointName = "e")
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="{endpointName}" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints>
            {endpoints}
              </endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, v => v switch { "SECRET" => "s3cret", "SMTP_PW" => "pw-from-env", _ => null });
    }

    private ConfigException Fails(string endpoints) => Assert.Throws<ConfigException>(() => Load(endpoints))!;

    [Test]
    public void SecureSmtp_DefaultsToStartTlsOn587_PasswordFromEnvironment_NeverInToString()
    {
        var e = (SecureSmtpEndpointConfig)Load("""
            <secure-smtp name="e" host="smtp.example.com" username="u" password-env="SMTP_PW" from="a@example.com" to="b@example.com; c@example.com" max-attempts="5" />
            """).Endpoints.Single();
        Assert.Multiple(() =>
        {
            Assert.That(e.Port, Is.EqualTo(587));
            Assert.That(e.Tls, Is.EqualTo(SmtpTlsMode.StartTls));
            Assert.That(e.Password!.Reveal(), Is.EqualTo("pw-from-env"));
            Assert.That(e.To, Is.EqualTo(new[] { "b@example.com", "c@example.com" }));
            Assert.That(e.MaxAttempts, Is.EqualTo(5));
            Assert.That(e.ToString(), Does.Not.Contain("pw-from-env").And.Contain("environment variable SMTP_PW"));
        });
    }

    [Test]
    public void Port465_MeansImplicitTls_PasswordFileIsRead()
    {
        File.WriteAllText(Path.Combine(Dir, "pw"), "from-file\n");
        var e = (DrcCmEndpointConfig)Load("""
            <drc-cm name="e" host="h.example.com" port="465" username="u" password-file="pw" from="a@example.com" to="b@example.com" />
            """).Endpoints.Single();
        Assert.That(e.Tls, Is.EqualTo(SmtpTlsMode.Implicit));
        Assert.That(e.Password!.Reveal(), Is.EqualTo("from-file"));
    }

    [Test]
    public void GlobalRelay_Defaults()
    {
        var e = (GlobalRelayEndpointConfig)Load("""<global-relay name="e" host="h.example.com" from="a@example.com" to="gr@example.com" />""").Endpoints.Single();
        Assert.That(e.MessageType, Is.EqualTo("XMPP"));
        Assert.That(e.AddressTemplate, Is.EqualTo("{jid}"));
        Assert.That(e.MaxMessageBytes, Is.EqualTo(250L * 1024 * 1024));
    }

    [TestCase("secure-smtp", "", SmtpEndpointConfig.DefaultMaxMessageBytes)]
    [TestCase("drc-cm", "", SmtpEndpointConfig.DefaultMaxMessageBytes)]
    [TestCase("secure-smtp", "max-message-size=\"10MB\"", 10L * 1024 * 1024)]
    [TestCase("drc-cm", "max-message-size=\" 512 KiB \"", 512L * 1024)]
    [TestCase("secure-smtp", "max-message-size=\"10240000\"", 10_240_000L)]
    [TestCase("secure-smtp", "max-message-size=\"1g\"", 1024L * 1024 * 1024)]
    [TestCase("global-relay", "max-message-size=\"20MB\"", 20L * 1024 * 1024)]
    [TestCase("global-relay", "max-eml-bytes=\"65536\"", 65536L)]
    public void MaxMessageSize_DefaultsPerTypeAndTakesUnits(string type, string attribute, long expected)
    {
        var e = (SmtpEndpointConfig)Load($"""<{type} name="e" host="h.example.com" from="a@example.com" to="b@example.com" {attribute} />""").Endpoints.Single();
        Assert.That(e.MaxMessageBytes, Is.EqualTo(expected));
    }

    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" max-message-size="10 parsecs" />""", "max-message-size")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" max-message-size="1KB" />""", "from 64KB")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" max-message-size="999999999999G" />""", "max-message-size")]
    [TestCase("""<global-relay name="e" host="h" from="a@example.com" to="b@example.com" max-message-size="300MB" />""", "to 250MB")]
    [TestCase("""<global-relay name="e" host="h" from="a@example.com" to="b@example.com" max-message-size="10MB" max-eml-bytes="65536" />""", "only one of max-message-size and max-eml-bytes")]
    [TestCase("""<directory name="e" path="x" max-message-size="10MB" />""", "max-message-size")]
    public void MaxMessageSize_BadValues_SayWhatIsExpected(string endpoint, string expected)
    {
        var error = Fails("    " + endpoint);
        Assert.That(error.Line, Is.EqualTo(6));
        Assert.That(error.Message, Does.Contain(expected));
    }

    [Test]
    public void InsecurePlaintext_OnlyWithTheLoudOption()
    {
        var e = (SecureSmtpEndpointConfig)Load("""
            <secure-smtp name="e" host="lab" port="25" insecure-plaintext-for-lab-only="yes" from="a@example.com" to="b@example.com" />
            """).Endpoints.Single();
        Assert.That(e.Tls, Is.EqualTo(SmtpTlsMode.InsecurePlaintext));

        var none = Fails("""    <secure-smtp name="e" host="lab" tls="none" from="a@example.com" to="b@example.com" />""");
        Assert.That(none.Line, Is.EqualTo(6));
        Assert.That(none.Message, Does.Contain("insecure-plaintext-for-lab-only"));
    }

    [TestCase("""<secure-smtp name="e" host="h" password="x" username="u" from="a@example.com" to="b@example.com" />""", "must not be written in the config")]
    [TestCase("""<secure-smtp name="e" host="h" username="u" from="a@example.com" to="b@example.com" />""", "no password")]
    [TestCase("""<secure-smtp name="e" host="h" password-env="SMTP_PW" from="a@example.com" to="b@example.com" />""", "no username")]
    [TestCase("""<secure-smtp name="e" host="h" username="u" password-env="UNSET" from="a@example.com" to="b@example.com" />""", "UNSET, which is not set")]
    [TestCase("""<secure-smtp name="e" host="h" from="not an address" to="b@example.com" />""", "from must be an e-mail address")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com, nope" />""", "'nope'")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" tls="ssl" />""", "tls must be starttls")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" ca-file="missing.pem" />""", "does not exist")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" subject="{nope}" />""", "unknown placeholder")]
    [TestCase("""<secure-smtp name="e" host="h" from="a@example.com" to="b@example.com" colour="red" />""", "has no attribute 'colour'")]
    [TestCase("""<global-relay name="e" host="h" from="a@example.com" to="b@example.com" msg-type="X: evil" />""", "msg-type must be")]
    [TestCase("""<global-relay name="e" host="h" from="a@example.com" to="b@example.com" address="{user}" />""", "address must turn a JID")]
    [TestCase("""<global-relay name="e" host="h" from="a@example.com" to="b@example.com" max-eml-bytes="999999999999" />""", "max-eml-bytes")]
    [TestCase("""<drc-cm name="e" host="h" from="a@example.com" />""", "needs a non-empty 'to'")]
    [TestCase("""<directory name="e" path="x" max-attempts="0" />""", "max-attempts must be")]
    [TestCase("""<ftp name="e" />""", "unknown element <ftp>")]
    public void Mistakes_AreConfigErrorsWithLineAndWhatToDo(string endpoint, string expected)
    {
        var error = Fails("    " + endpoint);
        Assert.That(error.Message, Does.Contain(expected));
        Assert.That(error.Line, Is.EqualTo(6), error.Message);
    }
}

using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary><see cref="ConfigLoader.LoadWithoutSecrets"/>: the commands the running service answers load the config where
/// the component secret and the SMTP passwords cannot be read (an admin's shell, a monitoring user).</summary>
public class ConfigWithoutSecretsTests : TempDirFixture
{
    private string Write()
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, """
            <imlogger>
              <component jid="archive.example.test" secret-env="SECRET" />
              <spool path="spool.db" />
              <organization domain="example.test" endpoint="e" seats="10"><user jid="alice@example.test" /></organization>
              <endpoints>
                <secure-smtp name="e" host="smtp.example.com" username="u" password-file="/nonexistent/smtp.password" from="a@example.com" to="b@example.com" />
                <secure-smtp name="f" host="smtp.example.com" username="u" password-env="SMTP_PW" from="a@example.com" to="b@example.com" />
              </endpoints>
            </imlogger>
            """);
        return path;
    }

    [Test]
    public void MissingSecretsFailTheFullLoad()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write(), _ => null))!;
        Assert.That(e.Problem, Does.Contain("SECRET"));
    }

    [Test]
    public void WithoutSecrets_LoadsAndSaysWhereEachWouldComeFrom_AndNothingCanAuthenticate()
    {
        var looked = new List<string>();
        var config = ConfigLoader.LoadWithoutSecrets(Write(), v => { looked.Add(v); return null; });
        var passwords = config.Endpoints.Cast<SmtpEndpointConfig>().Select(e => e.Password!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(looked, Is.Empty, "no secret is even looked up");
            Assert.That(config.Component.Secret, Is.Empty);
            Assert.That(config.Component.SecretSource, Is.EqualTo("environment variable SECRET"));
            Assert.That(passwords.Select(p => p.Source), Is.EqualTo(new[] { "file /nonexistent/smtp.password", "environment variable SMTP_PW" }));
            Assert.That(passwords.Select(p => p.IsRead), Has.All.False);
            Assert.That(() => passwords[0].Reveal(), Throws.InvalidOperationException.With.Message.Contains("not read"));
        });
    }

    [Test]
    public void WithoutSecrets_StillRefusesASecretWrittenInTheConfig()
    {
        var path = Write();
        File.WriteAllText(path, File.ReadAllText(path).Replace("secret-env=\"SECRET\"", "secret=\"in-the-clear\""));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadWithoutSecrets(path))!;
        Assert.That(e.Problem, Does.Contain("must not be written in the config itself"));
    }
}

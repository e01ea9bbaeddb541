using ImLogger.Config;

namespace ImLogger.Tests.Config;

/// <summary><c>&lt;organization group-chat-hosts="..."&gt;</c>: the MUC components prosody-config loads mod_imlogger_muc on.</summary>
public class GroupChatHostsConfigTests : TempDirFixture
{
    private ImLoggerConfig Load(string attribute)
    {
        var path = Path.Combine(Dir, "imlogger.xml");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <imlogger>
              <component jid="archive.example.test" host="127.0.0.1" port="5347" secret-env="SECRET" />
              <spool path="spool/spool.db" />
              <organization domain="example.test" endpoint="local" seats="10" {attribute}>
                <user jid="alice@example.test" />
              </organization>
              <endpoints><directory name="local" path="archive" /></endpoints>
            </imlogger>
            """);
        return ConfigLoader.Load(path, _ => "s3cret");
    }

    [Test]
    public void HostsAreReadLowerCasedOnceEach() =>
        Assert.That(Load("group-chat-hosts=\"Conference.Example.test chat.example.test conference.example.test\"").Organizations[0].GroupChatHosts,
            Is.EqualTo(new[] { "conference.example.test", "chat.example.test" }));

    [Test]
    public void LeftOutMeansNone() => Assert.That(Load("").Organizations[0].GroupChatHosts, Is.Empty);

    [TestCase("group-chat-hosts=\"example.test\"", "user domains")]
    [TestCase("group-chat-hosts=\"room@conference.example.test\"", "")]
    public void AUserDomainOrAJidIsRefusedWithWhatToGive(string attribute, string says)
    {
        var e = Assert.Throws<ConfigException>(() => Load(attribute))!;
        Assert.That(e.Message, Does.Contain("group-chat-hosts").Or.Contain("group chat host").Or.Contain("domain"));
        if (says.Length > 0) Assert.That(e.Message, Does.Contain(says));
    }
}

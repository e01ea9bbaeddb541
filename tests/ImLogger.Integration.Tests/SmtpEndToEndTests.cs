using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The whole path with an SMTP endpoint: real Prosody with the tap rules, real slixmpp clients, the real
/// <c>imlogger run</c>, and the test SMTP server (STARTTLS, test CA, AUTH). alice's transcripts go to the directory
/// endpoint, bob's to secure SMTP: their conversation reaches each endpoint once.
/// </summary>
[TestFixture]
public class SmtpEndToEndTests
{
    [Test, CancelAfter(180_000)]
    public async Task AConversationOfUsersOnTwoEndpointsReachesEachOnce()
    {
        var secrets = Paths.TempDir("imlogger-e2e-smtp-");
        try
        {
            using var ca = new TestCa("ImLogger Test CA");
            var caFile = ca.WritePem(Path.Combine(secrets, "ca.pem"));
            var passwordFile = Path.Combine(secrets, "smtp.password");
            File.WriteAllText(passwordFile, TestSmtpServer.Password + "\n");
            await using var smtp = await TestSmtpServer.StartAsync(ca.Issue("localhost"));

            await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "bob=mail"], extraOrganizations: null,
                extraEndpoints: $"""
                    <secure-smtp name="mail" host="localhost" port="{smtp.Port}" ca-file="{caFile}" username="{TestSmtpServer.User}"
                                 password-file="{passwordFile}" from="imlogger@corp.example.com" to="journal@corp.example.com" />
                    """);
            await using var imlogger = world.RunImLogger();
            await ImLoggerProcess.WaitConnectedAsync(imlogger);

            await RunAsync(world.Prosody, world.Dir,
                Connect("alice"), Connect("bob"),
                Chat("alice", "bob", "hello bob over two archives"),
                Expect("bob", "alice", "hello bob over two archives"),
                Chat("bob", "alice", "hi alice"),
                Expect("alice", "bob", "hi alice"),
                Disconnect("alice"), Disconnect("bob"));
            await ImLoggerProcess.WaitSpooledAsync(imlogger, 2);
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, "graceful stop closes and delivers");

            var files = world.Archived();
            var mails = smtp.Messages;
            Assert.Multiple(() =>
            {
                Assert.That(files, Has.Count.EqualTo(1), "the directory endpoint (alice's) has it once");
                Assert.That(mails, Has.Count.EqualTo(1), "the SMTP endpoint (bob's) has it once");
                Assert.That(mails.Single().Headers["X-ImLogger-Transcript-Id"], Is.EqualTo(files.Single().Headers["X-ImLogger-Transcript-Id"]), "the same transcript");
                Assert.That(mails.Single().TextBody, Does.Contain("hello bob over two archives").And.Contain("hi alice"));
                Assert.That(mails.Single().MessageId, Does.EndWith("@corp.example.com"));
                Assert.That(smtp.Logins, Is.EqualTo(1));
                Assert.That(imlogger.Output, Does.Not.Contain(TestSmtpServer.Password), "the password never reaches the log");
            });
        }
        finally
        {
            Directory.Delete(secrets, recursive: true);
        }
    }
}

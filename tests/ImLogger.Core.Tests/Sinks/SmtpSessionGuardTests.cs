using System.Text;
using ImLogger.Sinks;

namespace ImLogger.Tests.Sinks;

/// <summary>The reply bounds and the session bookkeeping below MailKit (issue 14), fed bytes as MailKit's reads would.</summary>
public class SmtpSessionGuardTests
{
    private static void Server(SmtpSessionGuard guard, string text, int chunk = 4096)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        for (var i = 0; i < bytes.Length; i += chunk) guard.LogServer(bytes, i, Math.Min(chunk, bytes.Length - i));
    }

    private static void Client(SmtpSessionGuard guard, string text, int chunk = 4096)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        for (var i = 0; i < bytes.Length; i += chunk) guard.LogClient(bytes, i, Math.Min(chunk, bytes.Length - i));
    }

    [Test]
    public void AHonestSession_NamesWhatItWaitsFor_AndSeesTheEndOfData_EvenAcrossReads()
    {
        var guard = new SmtpSessionGuard();
        Assert.That(guard.Waiting, Is.EqualTo("the greeting"));
        Server(guard, "220-first\r\n220 ready\r\n", chunk: 3);
        Client(guard, "EHLO [127.0.0.1]\r\n");
        Assert.That(guard.Waiting, Is.EqualTo("the reply to EHLO"));
        Server(guard, "250-hello\r\n250-STARTTLS\r\n250 8BITMIME\r\n", chunk: 5);
        Client(guard, "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
        Assert.That(guard.Waiting, Is.EqualTo("the reply to MAIL FROM"));
        Server(guard, "250 ok\r\n250 ok\r\n354 go\r\n");
        // A line holding only "." inside the data is dot-stuffed, so only the real end counts, even split over writes.
        Client(guard, "Subject: x\r\n\r\n..\r\nbody\r\n.\r\n", chunk: 2);
        Assert.That(guard.AwaitingDataReply, Is.True);
        Assert.That(guard.Waiting, Is.EqualTo("the reply to the end of DATA"));
        Server(guard, "250 2.0.0 queued\r\n", chunk: 1);
        Assert.That(guard.AwaitingDataReply, Is.False);
        Assert.That(guard.MessagesAccepted, Is.EqualTo(1));
    }

    [Test]
    public void AuthArgumentsAndContinuations_AreNeverKept()
    {
        var guard = new SmtpSessionGuard();
        Server(guard, "220 ready\r\n");
        Client(guard, "AUTH LOGIN\r\n");
        Server(guard, "334 VXNlcm5hbWU6\r\n");
        Client(guard, "c2VjcmV0LXVzZXI=\r\n");
        Assert.That(guard.Waiting, Is.EqualTo("the reply to AUTH"));
        Server(guard, "334 UGFzc3dvcmQ6\r\n");
        Client(guard, "c2VjcmV0LXBhc3N3b3Jk\r\n");
        Assert.That(guard.Waiting, Is.EqualTo("the reply to AUTH"), "a continuation, not a command named after the secret");
    }

    [Test]
    public void BdatLast_EndsTheMessage()
    {
        var guard = new SmtpSessionGuard();
        Server(guard, "220 ready\r\n");
        Client(guard, "BDAT 1234 LAST\r\n");
        Assert.That(guard.AwaitingDataReply, Is.True);
    }

    [Test]
    public void AReplyOverTheBound_Throws_NamingWhatWasAwaited()
    {
        var guard = new SmtpSessionGuard();
        Server(guard, "220 ready\r\n");
        Client(guard, "EHLO x\r\n");
        var lines = string.Concat(Enumerable.Repeat("250-" + new string('c', 60) + "\r\n", 2000));
        var ex = Assert.Throws<SmtpBoundException>(() => Server(guard, lines))!;
        Assert.That(ex.Message, Does.StartWith("the server's reply to EHLO is longer than 64 KiB"));
    }

    [Test]
    public void ALineOverTheBound_Throws_EvenWithoutAnyNewline()
    {
        var guard = new SmtpSessionGuard();
        var ex = Assert.Throws<SmtpBoundException>(() => Server(guard, "220 " + new string('\0', SmtpSessionGuard.MaxLineBytes + 10)))!;
        Assert.That(ex.Message, Does.Contain("reply line longer than 4 KiB while ImLogger waited for the greeting"));
    }

    [Test]
    public void ManySmallRepliesInASession_AreNotAddedUp()
    {
        var guard = new SmtpSessionGuard();
        Server(guard, "220 ready\r\n");
        for (var i = 0; i < 10_000; i++)
        {
            Client(guard, "NOOP\r\n");
            Server(guard, "250 2.0.0 ok, still here and answering at some length\r\n");
        }
        Assert.That(guard.Waiting, Is.EqualTo("nothing (between commands)"));
    }
}

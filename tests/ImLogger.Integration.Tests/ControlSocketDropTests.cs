using System.Net.Sockets;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>The running service stops (or is killed) while answering <c>spool status</c> through its control socket: the
/// operator reads what happened and what to do, never .NET's "The read operation failed, see inner exception."
/// (issue 19). The service here is a socket at the spool's <c>.sock</c> path that takes the command and closes with it
/// unread, which a Unix socket reports to the client as a reset connection.</summary>
[TestFixture]
public class ControlSocketDropTests
{
    [Test, CancelAfter(60_000)]
    public async Task AServiceThatDropsTheConnectionMidAnswerGetsOneLineSayingWhatToDo()
    {
        var dir = Directory.CreateTempSubdirectory("imlogger-sockdrop-").FullName;
        try
        {
            var config = Path.Combine(dir, "imlogger.xml");
            await File.WriteAllTextAsync(config, """
                <imlogger>
                  <component jid="archive.example.test" secret-env="IMLOGGER_COMPONENT_SECRET" />
                  <spool path="spool.db" />
                  <organization domain="example.test" endpoint="a" seats="1"><user jid="alice@example.test" /></organization>
                  <endpoints><directory name="a" path="archive" /></endpoints>
                </imlogger>
                """);
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "spool.db.sock")));
            listener.Listen(1);
            var service = Task.Run(async () =>
            {
                using var client = await listener.AcceptAsync();
                // The command has arrived and is left unread: closing now resets the client's connection.
                for (var i = 0; i < 200 && client.Available == 0; i++) await Task.Delay(50);
                client.Close();
            });

            var (code, output) = await ImLoggerProcess.CommandAsync("", "spool", "status", "--config", config);
            await service;
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("the running service dropped the connection").And.Contain("run the command again"));
            Assert.That(output, Does.Not.Contain("inner exception").And.Not.Contain("Exception").And.Not.Contain("   at "));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

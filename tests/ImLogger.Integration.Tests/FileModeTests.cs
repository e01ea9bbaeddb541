using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The real <c>imlogger</c>, started from a shell with the usual umask 022 (not under systemd's UMask), creates only
/// owner-only files: the spool and everything beside it, its log file (the shipped NLog config's file target), the
/// .eml files; the Prosody snippet and rules are 0640, never readable by others. With a key file, the archived text is
/// not in the spool while it waits there.
/// </summary>
[TestFixture, System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class FileModeTests
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerFolder = OwnerOnly | UnixFileMode.UserExecute;
    private const UnixFileMode ProsodyReadable = OwnerOnly | UnixFileMode.GroupRead;
    private const string Text = "quarterly numbers 5e1d, not for the disk";

    /// <summary>Runs imlogger through <c>sh -c 'umask 022; exec dotnet imlogger.dll ...'</c>.</summary>
    private static ProcessRunner Umask022(string name, params string[] args) =>
        ProcessRunner.Start(name, "/bin/sh", ["-c", "umask 022 && exec dotnet \"$0\" \"$@\"", Paths.ImLoggerDll, .. args],
            new Dictionary<string, string> { [ImLoggerProcess.SecretVariable] = TapDeployment.Secret, ["IMLOGGER_LOG_LEVEL"] = "Debug", ["DOTNET_NOLOGO"] = "1" });

    [Test, CancelAfter(180_000)]
    public async Task UnderUmask022_EveryFileImLoggerCreatesIsOwnerOnly_TheProsodyFiles0640()
    {
        await using var world = await TapDeployment.StartAsync();
        // Prosody runs on the rules the deployment wrote; these are written anew, into a folder of their own.
        var tap = Path.Combine(world.Dir, "rules");
        await using (var rules = Umask022("prosody-config", "prosody-config", "--config", world.ConfigPath, "--out", tap))
            Assert.That(await rules.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, rules.Output);

        var keyFile = Path.Combine(world.Dir, "spool.key");
        File.WriteAllText(keyFile, "c3Bvb2wta2V5LWZvci10aGUtdGVzdC0wMTIzNDU2Nzg5\n");
        File.SetUnixFileMode(keyFile, OwnerOnly);
        File.WriteAllText(world.ConfigPath, File.ReadAllText(world.ConfigPath)
            .Replace("<spool path=\"spool.db\" />", $"<spool path=\"state/spool.db\" key-file=\"{keyFile}\" />", StringComparison.Ordinal));
        var logDir = Path.Combine(world.Dir, "log");
        var nlog = Path.Combine(world.Dir, "nlog.config");
        File.WriteAllText(nlog, File.ReadAllText(Path.Combine(Paths.RepoRoot, "integrations", "nlog", "nlog.config"))
            .Replace("/var/log/imlogger/imlogger.log", Path.Combine(logDir, "imlogger.log"), StringComparison.Ordinal));

        await using var imlogger = Umask022("imlogger", "run", "--config", world.ConfigPath, "--log-config", nlog);
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("bob"),
            Chat("alice", "bob", Text), Expect("bob", "alice", Text));
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 1);

        var state = Path.Combine(world.Dir, "state");
        var whileRunning = Directory.GetFileSystemEntries(state).ToDictionary(f => Path.GetFileName(f), File.GetUnixFileMode);
        // read with cat: .NET's own open would wait for the advisory lock the running spool holds
        var spooled = new List<string>();
        foreach (var file in Directory.GetFiles(state).Where(f => !f.EndsWith(".sock", StringComparison.Ordinal)))
        {
            using var cat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("cat", [file]) { RedirectStandardOutput = true })!;
            spooled.Add(await cat.StandardOutput.ReadToEndAsync());
            await cat.WaitForExitAsync();
        }
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, "graceful stop, which delivers");

        Assert.Multiple(() =>
        {
            Assert.That(whileRunning.Keys, Is.SupersetOf(new[] { "spool.db", "spool.db.lock", "spool.db.sock" }));
            foreach (var (name, mode) in whileRunning)
                Assert.That(mode, Is.EqualTo(OwnerOnly), $"state/{name}");
            Assert.That(spooled, Has.None.Contains("quarterly numbers 5e1d"), "the text waits in the spool sealed");
            Assert.That(File.GetUnixFileMode(state), Is.EqualTo(OwnerFolder), "the spool folder imlogger created");
            Assert.That(File.GetUnixFileMode(logDir), Is.EqualTo(OwnerFolder), "NLog's folder");
            Assert.That(File.GetUnixFileMode(Path.Combine(logDir, "imlogger.log")), Is.EqualTo(OwnerOnly), "NLog's file");
            Assert.That(File.ReadAllText(Path.Combine(logDir, "imlogger.log")), Does.Contain("Connected to the XMPP server"));
            Assert.That(File.GetUnixFileMode(world.ArchiveDir), Is.EqualTo(OwnerFolder));
            Assert.That(Directory.GetFiles(world.ArchiveDir).Select(File.GetUnixFileMode), Is.Not.Empty.And.All.EqualTo(OwnerOnly));
            Assert.That(File.GetUnixFileMode(tap), Is.EqualTo(OwnerFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute));
            Assert.That(Directory.GetFiles(tap).Select(File.GetUnixFileMode), Has.Exactly(2).EqualTo(ProsodyReadable));
        });
        Assert.That(world.Archived().Single().TextBody, Does.Contain(Text), "delivered from the sealed spool");
    }

    /// <summary>The operator gave the Prosody files root:nogroup 0660; the service user (here nobody, in group nogroup)
    /// may write them but not give a new file root as its owner: it rewrites them in place and they stay root's. Files it
    /// may not write at all are one clear error naming the fix.</summary>
    [Test, CancelAfter(120_000)]
    public async Task ProsodyFilesOfAnotherOwner_AreRewrittenKeepingTheirOwner_OrRefusedClearly()
    {
        if (!Environment.IsPrivilegedProcess || !File.Exists("/usr/bin/setpriv")) Assert.Ignore("needs root and setpriv to act as another user");
        var dir = Paths.TempDir("imlogger-it-owner-");
        try
        {
            File.SetUnixFileMode(dir, OwnerFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var config = Path.Combine(dir, "imlogger.xml");
            File.WriteAllText(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <imlogger>
                  <component jid="archive.example.test" host="127.0.0.1" port="5347" secret-env="{ImLoggerProcess.SecretVariable}" />
                  <spool path="spool.db" />
                  <organization domain="example.test" endpoint="local" seats="5"><user jid="alice@example.test" /></organization>
                  <endpoints><directory name="local" path="archive" /></endpoints>
                </imlogger>
                """);
            File.SetUnixFileMode(config, ProsodyReadable | UnixFileMode.OtherRead);
            var rules = Path.Combine(dir, "rules");
            var (code, output) = await ImLoggerProcess.CommandAsync("first-secret", "prosody-config", "--config", config, "--out", rules);
            Assert.That(code, Is.Zero, output);
            File.SetUnixFileMode(rules, (UnixFileMode)0x1FF); // 0777: nobody may create its temp files there
            var files = Directory.GetFiles(rules);

            async Task<(int, string)> AsNobody()
            {
                await using var p = ProcessRunner.Start("as-nobody", "/usr/bin/setpriv",
                    ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "dotnet", Paths.ImLoggerDll, "prosody-config", "--config", config, "--out", rules],
                    new Dictionary<string, string> { [ImLoggerProcess.SecretVariable] = "second-secret", ["HOME"] = dir, ["DOTNET_CLI_HOME"] = dir, ["DOTNET_NOLOGO"] = "1" });
                return (await p.WaitForExitAsync(TimeSpan.FromSeconds(60)), p.Output);
            }

            var (refused, why) = await AsNobody(); // root:root 0640: nobody can neither replace nor write them
            Assert.That(refused, Is.EqualTo(1), why);
            Assert.That(why, Does.Contain("cannot write the Prosody files").And.Contain("chown imlogger:prosody"));
            Assert.That(File.ReadAllText(files.Single(f => f.EndsWith(".cfg.lua", StringComparison.Ordinal))), Does.Contain("first-secret"));

            foreach (var f in files)
            {
                using (var chown = System.Diagnostics.Process.Start("chown", ["root:nogroup", f])) await chown!.WaitForExitAsync();
                File.SetUnixFileMode(f, ProsodyReadable | UnixFileMode.GroupWrite);
            }
            var owner = ImLogger.Files.OwnerOnlyFiles.OwnerOf(files[0]);
            var (rewritten, said) = await AsNobody();
            Assert.That(rewritten, Is.Zero, said);
            foreach (var f in files)
            {
                Assert.That(ImLogger.Files.OwnerOnlyFiles.OwnerOf(f), Is.EqualTo(owner), f);
                Assert.That(File.GetUnixFileMode(f), Is.EqualTo(ProsodyReadable | UnixFileMode.GroupWrite), f);
            }
            Assert.That(File.ReadAllText(files.Single(f => f.EndsWith(".cfg.lua", StringComparison.Ordinal))), Does.Contain("second-secret"));
            Assert.That(Directory.GetFiles(rules), Is.EquivalentTo(files), "no temp file left");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary><c>sudo imlogger report</c> while the service is stopped, just after a key file was added: opening the spool
    /// converts it (a new file renamed over the old), and the service's user still owns every spool file afterwards.</summary>
    [Test, CancelAfter(60_000)]
    public async Task SudoReport_ThatConvertsTheSpool_LeavesItToItsOwner()
    {
        if (!Environment.IsPrivilegedProcess) Assert.Ignore("needs root");
        var dir = Paths.TempDir("imlogger-it-convert-");
        try
        {
            var data = Directory.CreateDirectory(Path.Combine(dir, "data")).FullName;
            var spoolPath = Path.Combine(data, "spool.db");
            using (var spool = new ImLogger.Spool.LiteDbSpool(spoolPath, Microsoft.Extensions.Logging.Abstractions.NullLogger<ImLogger.Spool.LiteDbSpool>.Instance))
            {
                var header = spool.OpenTranscript(ImLogger.Domain.ConversationType.OneToOne, "alice@example.test bob@example.test", DateTimeOffset.UtcNow, ["a"]);
                spool.Append([new ImLogger.Spool.SpoolAppend(header.Id, new ImLogger.Domain.ConversationEvent
                {
                    Id = Guid.NewGuid().ToString("N"), ReceivedUtc = DateTimeOffset.UtcNow, Kind = ImLogger.Domain.EventKind.Message,
                    Direction = ImLogger.Domain.Direction.Outgoing, ConversationType = ImLogger.Domain.ConversationType.OneToOne,
                    ConversationKey = "alice@example.test bob@example.test", From = "alice@example.test/a", To = "bob@example.test",
                    Text = Text, LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
                })]);
            }
            using (var chown = System.Diagnostics.Process.Start("chown", ["-R", "nobody:nogroup", data])) await chown!.WaitForExitAsync();
            var keyFile = Path.Combine(dir, "spool.key");
            File.WriteAllText(keyFile, "c3Bvb2wta2V5LWZvci10aGUtdGVzdC0wMTIzNDU2Nzg5\n");
            var config = Path.Combine(dir, "imlogger.xml");
            File.WriteAllText(config, $"""
                <imlogger>
                  <component jid="archive.example.test" port="{Paths.FreePort()}" secret-env="{ImLoggerProcess.SecretVariable}" />
                  <spool path="data/spool.db" key-file="{keyFile}" />
                  <organization domain="example.test" endpoint="a" seats="10"><user jid="alice@example.test" /></organization>
                  <endpoints><directory name="a" path="archive" /></endpoints>
                </imlogger>
                """);
            var owner = ImLogger.Files.OwnerOnlyFiles.OwnerOf(spoolPath);

            var (code, output) = await ImLoggerProcess.CommandAsync("s", "report", "--config", config);

            Assert.That(code, Is.Zero, output);
            Assert.That(File.ReadAllText(spoolPath, System.Text.Encoding.Latin1), Does.Not.Contain("quarterly numbers"), "converted");
            foreach (var file in Directory.GetFiles(data))
            {
                Assert.That(ImLogger.Files.OwnerOnlyFiles.OwnerOf(file), Is.EqualTo(owner), Path.GetFileName(file));
                Assert.That(File.GetUnixFileMode(file), Is.EqualTo(OwnerOnly), Path.GetFileName(file));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

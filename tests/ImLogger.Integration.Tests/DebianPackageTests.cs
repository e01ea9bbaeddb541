using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// <c>./imlogger.sh package</c> (integrations/debian/build.sh) builds a .deb that installs as an operator expects:
/// installed here with dpkg into a throw-away root (<c>dpkg --root</c>, maintainer scripts honouring DPKG_ROOT), then the
/// installed binary answers <c>--version</c> and checks the installed config; an upgrade keeps the operator's edits and
/// secret; a purge keeps the spool (undelivered transcripts are never deleted by a package manager).
/// </summary>
[TestFixture]
public partial class DebianPackageTests
{
    private string _work = "";
    private string _deb = "";

    [OneTimeSetUp]
    public void BuildThePackage()
    {
        if (Environment.UserName != "root")
            Assert.Ignore("dpkg --root needs root (CI and the README's test command run as root)");
        _work = Directory.CreateTempSubdirectory("imlogger-deb-").FullName;
        var (code, output) = Run("bash", [Path.Combine(Paths.RepoRoot, "integrations", "debian", "build.sh"), Path.Combine(_work, "out")],
            TimeSpan.FromMinutes(12));
        Assert.That(code, Is.Zero, output);
        _deb = output.TrimEnd().Split('\n')[^1].Trim();
        Assert.That(File.Exists(_deb), Is.True, $"the last line should name the .deb: {output}");
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        if (_work != "") Directory.Delete(_work, recursive: true);
    }

    [Test, CancelAfter(300_000)]
    public void InstallsAndTheInstalledProgramChecksTheInstalledConfig()
    {
        var root = FreshRoot("install");
        Install(root);

        // The system user and the folders, inside the root (sysusers.d and tmpfiles.d applied with --root).
        var passwd = File.ReadAllText(Path.Combine(root, "etc/passwd"));
        var uid = Regex.Match(passwd, @"^imlogger:x:(\d+):(\d+):.*:/var/lib/imlogger:/usr/sbin/nologin$", RegexOptions.Multiline);
        Assert.That(uid.Success, Is.True, passwd);
        foreach (var dir in new[] { "var/lib/imlogger", "var/lib/imlogger/archive", "var/log/imlogger" })
        {
            var info = new UnixFileInfo(Path.Combine(root, dir));
            Assert.That(info.Owner, Is.EqualTo(uid.Groups[1].Value), dir);
            Assert.That(info.Mode, Is.EqualTo("750"), dir);
        }

        // A secret of its own, readable by root and the imlogger group only.
        var env = Path.Combine(root, "etc/imlogger/imlogger.env");
        Assert.That(new UnixFileInfo(env).Mode, Is.EqualTo("640"));
        Assert.That(new UnixFileInfo(env).Group, Is.EqualTo(uid.Groups[2].Value));
        var secret = Regex.Match(File.ReadAllText(env), "^IMLOGGER_COMPONENT_SECRET=([0-9a-f]{48})$", RegexOptions.Multiline);
        Assert.That(secret.Success, Is.True);

        // The self-contained binary runs without the SDK's runtime, from /usr/bin as well.
        var noDotnet = new Dictionary<string, string> { ["DOTNET_ROOT"] = "/nonexistent", ["PATH"] = "/usr/bin:/bin" };
        var (code, output) = Run(Path.Combine(root, "usr/bin/imlogger"), ["--version"], TimeSpan.FromSeconds(60), noDotnet);
        Assert.That(code, Is.Zero, output);
        var version = Regex.Match(_deb, @"imlogger_(\d+\.\d+\.\d+)").Groups[1].Value;
        Assert.That(output.Trim(), Does.StartWith($"imlogger {version}"));

        noDotnet["IMLOGGER_COMPONENT_SECRET"] = secret.Groups[1].Value;
        (code, output) = Run(Path.Combine(root, "usr/lib/imlogger/imlogger"),
            ["check-config", "--config", Path.Combine(root, "etc/imlogger/imlogger.xml")], TimeSpan.FromSeconds(60), noDotnet);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("inline, fail-closed").And.Contain("/etc/prosody/imlogger"));

        // What the unit starts is what the package installed; the config is a conffile; the man page is the help.
        var unit = File.ReadAllText(Path.Combine(root, "lib/systemd/system/imlogger.service"));
        Assert.That(unit, Does.Contain("ExecStart=/usr/lib/imlogger/imlogger run --config /etc/imlogger/imlogger.xml"));
        (code, output) = Run("dpkg", [$"--root={root}", "-s", "imlogger"], TimeSpan.FromSeconds(30));
        Assert.That(output, Does.Contain("/etc/imlogger/imlogger.xml").And.Contain("/etc/imlogger/nlog.config"), "conffiles");
        using (var man = new GZipStream(File.OpenRead(Path.Combine(root, "usr/share/man/man1/imlogger.1.gz")), CompressionMode.Decompress))
        using (var reader = new StreamReader(man))
        {
            var page = reader.ReadToEnd();
            Assert.That(page, Does.StartWith(".TH IMLOGGER 1").And.Contain(".SS spool").And.Contain(@"usage: imlogger check\-server"), "the help, with roff escapes");
        }
        Assert.That(File.ReadAllText(Path.Combine(root, "usr/share/bash-completion/completions/imlogger")),
            Does.Contain("complete -o default -o bashdefault -F _imlogger imlogger"), "tab completion where bash-completion looks");
        Assert.That(File.Exists(Path.Combine(root, "usr/lib/imlogger/imlogger.xml")), Is.False,
            "no XML documentation file named like the config next to the binary");
    }

    [Test, CancelAfter(300_000)]
    public void UpgradeKeepsTheOperatorsConfigAndSecretAndPurgeKeepsTheSpool()
    {
        var root = FreshRoot("upgrade");
        Install(root);
        var config = Path.Combine(root, "etc/imlogger/imlogger.xml");
        var edited = File.ReadAllText(config).Replace("alice@example.com", "carol@example.com");
        File.WriteAllText(config, edited);
        var env = Path.Combine(root, "etc/imlogger/imlogger.env");
        var secret = File.ReadAllText(env);
        var spool = Path.Combine(root, "var/lib/imlogger/spool.db");
        File.WriteAllText(spool, "undelivered transcripts");

        Install(root); // the same version again: configure runs as an upgrade ("configure <old version>")
        Assert.That(File.ReadAllText(config), Is.EqualTo(edited), "the edited conffile stays");
        Assert.That(File.ReadAllText(env), Is.EqualTo(secret), "the secret is generated once");

        var (code, output) = Run("dpkg", [$"--root={root}", "--force-script-chrootless", "--log=/dev/null", "--purge", "imlogger"], TimeSpan.FromSeconds(60));
        Assert.That(code, Is.Zero, output);
        Assert.That(File.Exists(Path.Combine(root, "usr/lib/imlogger/imlogger")), Is.False);
        Assert.That(File.Exists(env), Is.False, "purge removes the generated secret");
        Assert.That(File.ReadAllText(spool), Is.EqualTo("undelivered transcripts"), "purge never deletes the spool");
        Assert.That(output, Does.Contain("/var/lib/imlogger (spool and archive) was kept"));
    }

    private string FreshRoot(string name)
    {
        var root = Path.Combine(_work, name);
        foreach (var dir in new[] { "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc" })
            Directory.CreateDirectory(Path.Combine(root, dir));
        File.WriteAllText(Path.Combine(root, "var/lib/dpkg/status"), "");
        return root;
    }

    private void Install(string root)
    {
        // --force-depends: the throw-away root has no libc6 package recorded (the host's libraries are what runs).
        var (code, output) = Run("dpkg", [$"--root={root}", "--force-script-chrootless", "--force-depends", "--log=/dev/null", "-i", _deb],
            TimeSpan.FromMinutes(2));
        Assert.That(code, Is.Zero, output);
    }

    private static (int Code, string Output) Run(string file, string[] args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Owner, group (numeric, as in the root's own passwd/group) and octal mode, read with stat.</summary>
    private sealed class UnixFileInfo
    {
        public UnixFileInfo(string path)
        {
            var (code, output) = Run("stat", ["-c", "%u %g %a", path], TimeSpan.FromSeconds(10));
            Assert.That(code, Is.Zero, output);
            var parts = output.Trim().Split(' ');
            (Owner, Group, Mode) = (parts[0], parts[1], parts[2]);
        }

        public string Owner { get; }
        public string Group { get; }
        public string Mode { get; }
    }
}

using System.Text.RegularExpressions;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The README's production steps ("Install the package"), read from README.md and run one by one against the package
/// this fixture built, installed into a throw-away root, beside a Prosody laid out as Debian's package lays it out
/// (<c>/etc/prosody/prosody.cfg.lua</c> ending in <c>Include "conf.d/*.cfg.lua"</c>, the host in conf.d, the prosody
/// group there before ImLogger is installed). A step the test does not know fails it: a new README step is tried too.
/// </summary>
/// <remarks>What a throw-away root changes, and only that: every absolute path gets the root in front (the config's
/// paths are rewritten at the <c>editor</c> step, which is where an operator puts theirs), commands get <c>--config</c>
/// (the default /etc/imlogger/imlogger.xml is this machine's, not the root's), <c>systemctl</c> runs what the installed
/// unit names, as root, and Prosody is first started by the restart step (before it, its config Includes nothing of
/// ImLogger's and this test needs nothing from it).</remarks>
public partial class DebianPackageTests
{
    [Test, CancelAfter(300_000)]
    public async Task TheReadmesProductionStepsWorkAsWritten()
    {
        var root = FreshRoot("readme");
        // Prosody is installed first, as on a server: its group and /etc/prosody exist, so the package makes rules-out.
        File.AppendAllText(Path.Combine(root, "etc/group"), "prosody:x:4711:\n");
        var prosody = ProsodyServer.Prepare(Directory.CreateDirectory(Path.Combine(root, "etc/prosody")).FullName, include: null, "alice", "bob");
        DebianProsodyLayout(prosody);
        var config = Path.Combine(root, "etc/imlogger/imlogger.xml");
        var env = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["DOTNET_ROOT"] = "/nonexistent" };
        ProcessRunner? service = null;
        try
        {
            foreach (var step in ReadmeSteps())
            {
                var command = step.Split(" #")[0].Trim();
                switch (command)
                {
                    case "apt install ./imlogger_*.deb":
                        Install(root);
                        break;
                    case "editor /etc/imlogger/imlogger.xml":
                        EditLikeAnOperator(root, prosody);
                        break;
                    case "set -a; . /etc/imlogger/imlogger.env; set +a":
                        foreach (Match m in Regex.Matches(File.ReadAllText(Path.Combine(root, "etc/imlogger/imlogger.env")), @"^([A-Z_]+)=(.*)$", RegexOptions.Multiline))
                            env[m.Groups[1].Value] = m.Groups[2].Value;
                        break;
                    case "imlogger check-config":
                    {
                        var (code, output) = Run(Path.Combine(root, "usr/bin/imlogger"), ["check-config", "--config", config], TimeSpan.FromSeconds(60), env);
                        Assert.That(code, Is.Zero, $"{step}\n{output}");
                        break;
                    }
                    case "systemctl enable --now imlogger":
                        service = StartTheUnit(root, env);
                        await WaitForAsync(() => File.Exists(Path.Combine(root, "etc/prosody/imlogger/imlogger.cfg.lua")), "the service wrote rules-out", service);
                        break;
                    case var echo when echo.StartsWith("echo 'Include ", StringComparison.Ordinal):
                    {
                        var (code, output) = Run("bash", ["-c", echo.Replace("/etc/", $"{root}/etc/", StringComparison.Ordinal)], TimeSpan.FromSeconds(10));
                        Assert.That(code, Is.Zero, output);
                        break;
                    }
                    case "systemctl restart prosody":
                        await prosody.StopAsync();
                        await prosody.StartAsync();
                        break;
                    case "imlogger check-server":
                    {
                        // "exit 0 once the module answers": the module's first heartbeat follows the connection.
                        var last = "";
                        await WaitForAsync(() =>
                        {
                            var (code, output) = Run(Path.Combine(root, "usr/bin/imlogger"), ["check-server", "--config", config], TimeSpan.FromSeconds(60), env);
                            last = output;
                            return code == 0;
                        }, "check-server exit 0", service, () => last);
                        break;
                    }
                    default:
                        Assert.Fail($"the README's step `{step}` is not one this test knows: teach it the step (and check that it works)");
                        break;
                }
            }
            Assert.That(service, Is.Not.Null, "the README starts the service");

            // A logged conversation, archived by the installed program.
            await RunAsync(prosody, prosody.Dir, Connect("alice"), Connect("bob"),
                Chat("alice", "bob", "hello from the README"), Expect("bob", "alice", "hello from the README"), Pause());
            Assert.That(await service!.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero, service.Output); // closes and delivers
            var archived = Directory.GetFiles(Path.Combine(root, "var/lib/imlogger/archive"), "*.eml").Select(File.ReadAllText).ToList();
            Assert.That(archived, Has.Some.Contains("hello from the README"), service.Output);
        }
        finally
        {
            if (service is not null) await service.DisposeAsync();
            await prosody.DisposeAsync();
        }
    }

    /// <summary>The lines of the README's first shell block under "Install the package".</summary>
    private static List<string> ReadmeSteps()
    {
        var readme = File.ReadAllText(Path.Combine(Paths.RepoRoot, "README.md"));
        var section = readme[readme.IndexOf("### Install the package", StringComparison.Ordinal)..];
        var block = Regex.Match(section, "```sh\n(.*?)```", RegexOptions.Singleline);
        Assert.That(block.Success, Is.True, "the README's package section has a shell block");
        var steps = block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        Assert.That(steps, Has.Count.GreaterThanOrEqualTo(5));
        return steps;
    }

    /// <summary>Debian's layout: the global section, then <c>Include "conf.d/*.cfg.lua"</c> as the file's last line, the
    /// host and its MUC in conf.d.</summary>
    private static void DebianProsodyLayout(ProsodyServer prosody)
    {
        var main = ImLogger.ServerRules.ProsodySandbox.GlobalSection(prosody.Dir, prosody.C2sPort, prosody.ComponentPort, "debug") +
                   "\nplugin_paths = { \"/usr/local/lib/prosody/modules\" }\n\nInclude \"conf.d/*.cfg.lua\"\n";
        File.WriteAllText(prosody.ConfigPath, main);
        var confd = Directory.CreateDirectory(Path.Combine(prosody.Dir, "conf.d")).FullName;
        File.WriteAllText(Path.Combine(confd, "example.test.cfg.lua"),
            $"VirtualHost \"{ProsodyServer.Domain}\"\n\nComponent \"{ProsodyServer.Muc}\" \"muc\"\n\tmuc_room_locking = false\n");
    }

    /// <summary>The operator's edit: their component, port, domain, users; here also the root in front of each path.</summary>
    private static void EditLikeAnOperator(string root, ProsodyServer prosody)
    {
        var config = Path.Combine(root, "etc/imlogger/imlogger.xml");
        var text = File.ReadAllText(config)
            .Replace("port=\"5347\"", $"port=\"{prosody.ComponentPort}\"", StringComparison.Ordinal)
            .Replace("127.0.0.1:9464", $"127.0.0.1:{Paths.FreePort()}", StringComparison.Ordinal)
            .Replace("example.com", ProsodyServer.Domain, StringComparison.Ordinal);
        Assert.That(text, Does.Contain($"port=\"{prosody.ComponentPort}\"").And.Contain("alice@example.test"), "the shipped config changed: edit this step");
        File.WriteAllText(config, Rooted(root, text));
        var nlog = Path.Combine(root, "etc/imlogger/nlog.config");
        File.WriteAllText(nlog, Rooted(root, File.ReadAllText(nlog)));
    }

    private static string Rooted(string root, string text) =>
        Regex.Replace(text, "(?<=[\"'=])/(var/lib/imlogger|var/log/imlogger|etc/prosody/imlogger|etc/imlogger)", m => root + m.Value);

    /// <summary>What <c>systemctl enable --now imlogger</c> starts: the installed unit's ExecStart (ExecStartPre first).</summary>
    private static ProcessRunner StartTheUnit(string root, Dictionary<string, string> env)
    {
        var unit = File.ReadAllText(Path.Combine(root, "lib/systemd/system/imlogger.service"));
        string[] Line(string key) => Rooted(root, " " + Regex.Match(unit, $"^{key}=(.*)$", RegexOptions.Multiline).Groups[1].Value)
            .Replace(" /usr/", $" {root}/usr/", StringComparison.Ordinal).Replace(" /etc/", $" {root}/etc/", StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var pre = Line("ExecStartPre");
        var (code, output) = Run(pre[0], pre[1..], TimeSpan.FromSeconds(60), env);
        Assert.That(code, Is.Zero, $"ExecStartPre: {output}");
        var start = Line("ExecStart");
        return ProcessRunner.Start("imlogger.service", start[0], start[1..], env);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, ProcessRunner? service, Func<string>? detail = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (service is { HasExited: true }) Assert.Fail($"the service exited while waiting for {what}:\n{service.Output}");
            if (DateTime.UtcNow > deadline) Assert.Fail($"no {what} within 60 s: {detail?.Invoke()}\n{service?.Output}");
            await Task.Delay(500);
        }
    }
}

using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// A user list rewritten in place while a logged user talks, on real Prosody in inline fail-closed mode: every message
/// delivered is archived (a half-written list never stops logging anyone), the held drop is a WARNING naming whom it would
/// drop, and a deliberate removal, confirmed with <c>imlogger reload --confirm</c>, is applied and logged as a WARNING.
/// </summary>
[TestFixture, NonParallelizable]
public class ReloadUnderTrafficTests
{
    private const int Chunks = 6;
    private const int PerChunk = 25;

    /// <summary>dave is listed in the config itself; the CSV lists the other three: a header-only CSV drops 3 of 4.</summary>
    private const string FullList = "jid,name\nalice@example.test,Alice\nbob@example.test,Bob\ncarol@example.test,Carol\n";

    private static async Task UntilExistsAsync(string path)
    {
        for (var i = 0; !File.Exists(path); i++)
        {
            if (i > 6000) Assert.Fail($"the client scenario never reached {Path.GetFileName(path)}");
            await Task.Delay(20);
        }
    }

    /// <summary>alice (logged) and grace (not) write to each other, chunk after chunk; a signal file marks each chunk's start.</summary>
    private static object[] Stream(string dir)
    {
        var steps = new List<object> { Connect("alice"), Connect("grace") };
        for (var c = 1; c <= Chunks; c++)
        {
            steps.Add(Signal(Path.Combine(dir, $"chunk-{c}")));
            for (var i = 1; i <= PerChunk; i++)
            {
                steps.Add(Chat("alice", "grace", $"out{c}-{i:D3}"));
                steps.Add(Chat("grace", "alice", $"in{c}-{i:D3}"));
                steps.Add(Pause(0.04));
            }
        }
        steps.Add(Chat("alice", "grace", "out-end"));
        steps.Add(Expect("grace", "alice", "out-end"));
        steps.Add(Chat("grace", "alice", "in-end"));
        steps.Add(Expect("alice", "grace", "in-end"));
        return [.. steps];
    }

    private static string[] Bodies(JsonObject received, string who, string from) =>
        (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!)
            .Where(m => (string?)m["type"] == "chat" && ((string?)m["from"] ?? "").StartsWith(Jid(from), StringComparison.Ordinal))
            .Select(m => (string)m["body"]!).ToArray();

    [Test, CancelAfter(240_000)]
    public async Task ACsvRewrittenInPlaceUnderTrafficNeverLetsALoggedUsersMessageThroughUnarchived()
    {
        const string attach = """
            <attach mode="inline" failure-mode="closed" timeout="5s" rules-out="tap" />
            <reload settle="0.3s" confirm-drops-after="1h" />
            """;
        var lists = Paths.TempDir("imlogger-csv-");
        var csv = Path.Combine(lists, "users.csv");
        await File.WriteAllTextAsync(csv, FullList);
        try
        {
            await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["dave"], null, exampleOrganizationXml: $"<csv path=\"{csv}\" />", attach: attach);
            var snippet = Path.Combine(world.Dir, "tap", "imlogger.cfg.lua");
            await using var imlogger = world.RunImLogger();
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 4 logged user(s) written (start)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules at start");
            await ImLoggerProcess.WaitConnectedAsync(imlogger);

            var traffic = RunAsync(world.Prosody, world.Dir, Stream(world.Dir));
            async Task At(int chunk) => await UntilExistsAsync(Path.Combine(world.Dir, $"chunk-{chunk}"));

            // 1: truncated and written again at once (the shell's `>`, a fast export).
            await At(1);
            await File.WriteAllTextAsync(csv, "");
            await Task.Delay(100);
            await File.WriteAllTextAsync(csv, FullList);
            // 2: a slow export: empty for a while, then the header, then (after a query) the rows.
            await At(2);
            await File.WriteAllTextAsync(csv, "");
            await Task.Delay(800);
            await File.AppendAllTextAsync(csv, "jid,name\n");
            await Task.Delay(800);
            await File.AppendAllTextAsync(csv, FullList["jid,name\n".Length..]);
            // 3-4: an export that failed after the header, left for two chunks, then run again.
            await At(3);
            await File.WriteAllTextAsync(csv, "jid,name\n");
            await At(5);
            await File.WriteAllTextAsync(csv, FullList);
            // 6: rewritten five times in quick succession.
            await At(6);
            for (var i = 0; i < 5; i++)
            {
                await File.WriteAllTextAsync(csv, "");
                await File.WriteAllTextAsync(csv, FullList);
                await Task.Delay(60);
            }
            var received = await traffic;

            var held = imlogger.Lines.Where(l => l.Contains("HELD, the running config stays in force", StringComparison.Ordinal)).ToList();
            Assert.That(held, Is.Not.Empty, "the header-only list is held with a warning:\n" + imlogger.Output);
            Assert.That(held[0], Does.Contain(" WARN ").And.Contain("users.csv").And.Contain("would stop logging 3 of the 4 logged user(s)")
                .And.Contain("alice@example.test (users.csv:2)").And.Contain("imlogger reload --confirm"));
            Assert.That(imlogger.Lines.Where(l => l.Contains("Server rules for", StringComparison.Ordinal)).ToList(),
                Has.All.Contain("Server rules for 4 logged user(s)"), "the server rules never got a shorter list");
            Assert.That(await File.ReadAllTextAsync(snippet), Does.Contain("\"alice@example.test\""));
            Assert.That(imlogger.Lines.Where(l => l.Contains("NO LONGER LOGGED", StringComparison.Ordinal)), Is.Empty, "nobody stopped being logged");

            // The deliberate removal: the same header-only list, confirmed by the operator.
            var heldBefore = held.Count;
            await File.WriteAllTextAsync(csv, "jid,name\n");
            await imlogger.WaitForLineAsync(_ => imlogger.Lines.Count(l => l.Contains("HELD, the running config stays in force", StringComparison.Ordinal)) > heldBefore,
                TimeSpan.FromSeconds(30), "the removal held");
            var (code, confirm) = await ImLoggerProcess.CommandAsync(TapDeployment.Secret, "reload", "--confirm", "--config", world.ConfigPath);
            Assert.That(code, Is.Zero, confirm);
            Assert.That(confirm, Does.Contain("confirmed by the operator").And.Contain("NO LONGER LOGGED: alice@example.test, bob@example.test, carol@example.test"));
            var applied = await imlogger.WaitForLineAsync(l => l.Contains("Config reloaded", StringComparison.Ordinal) && l.Contains("NO LONGER LOGGED", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the confirmed removal");
            Assert.That(applied, Does.Contain(" WARN ").And.Contain("alice@example.test, bob@example.test, carol@example.test"));
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 1 logged user(s) written (reload)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules rewritten");
            Assert.That(await File.ReadAllTextAsync(snippet), Does.Not.Contain("alice@example.test").And.Contain("dave@example.test"));
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

            var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
            var delivered = Bodies(received, "grace", "alice").Concat(Bodies(received, "alice", "grace")).ToList();
            var unarchived = delivered.Where(b => !archived.Contains(b, StringComparison.Ordinal)).ToList();
            TestContext.Out.WriteLine($"sent {2 * (Chunks * PerChunk + 1)}, delivered {delivered.Count}, delivered but not archived {unarchived.Count}, held warnings {held.Count}");
            Assert.That(delivered, Has.Count.GreaterThan(Chunks * PerChunk), "the stream flowed");
            Assert.That(unarchived, Is.Empty, "every message delivered to or from the logged user is archived");
        }
        finally
        {
            Directory.Delete(lists, recursive: true);
        }
    }
}

/// <summary>Hostile edits of a running service's user list and config: each is refused or held, and the running list
/// (in ImLogger and in the server rules) never shrinks.</summary>
[TestFixture]
public class HostileReloadTests
{
    private const string FullList = "jid\nalice@example.test\nbob@example.test\ncarol@example.test\n";

    [Test, CancelAfter(240_000)]
    public async Task EmptiedDeletedSwappedOrTruncatedFilesNeverShrinkTheRunningList()
    {
        const string attach = """
            <attach mode="tap" rules-out="tap" />
            <reload settle="0.3s" confirm-drops-after="never" />
            """;
        var lists = Paths.TempDir("imlogger-csv-");
        var full = Path.Combine(lists, "full.csv");
        var headerOnly = Path.Combine(lists, "header.csv");
        var csv = Path.Combine(lists, "users.csv");
        await File.WriteAllTextAsync(full, FullList);
        await File.WriteAllTextAsync(headerOnly, "jid\n");
        File.CreateSymbolicLink(csv, full);
        try
        {
            await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["dave"], null, exampleOrganizationXml: $"<csv path=\"{csv}\" />", attach: attach);
            var script = Path.Combine(world.Dir, "tap", "imlogger.pfw");
            var config = await File.ReadAllTextAsync(world.ConfigPath);
            await using var imlogger = world.RunImLogger();
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 4 logged user(s) written (start)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules at start");
            await ImLoggerProcess.WaitConnectedAsync(imlogger);

            async Task Act(Func<Task> act, string what, params string[] parts)
            {
                var seen = imlogger.Lines.Count;
                await act();
                await imlogger.WaitForLineAsync(_ => imlogger.Lines.Skip(seen).Any(x => parts.All(p => x.Contains(p, StringComparison.Ordinal))), TimeSpan.FromSeconds(30), what);
            }
            void Swap(string target)
            {
                // ln -sfn: a new link renamed over the old one, as deployment tools switch versions.
                var next = csv + ".next";
                File.CreateSymbolicLink(next, target);
                File.Move(next, csv, overwrite: true);
            }
            Task Restore() => Act(() => { Swap(full); return Task.CompletedTask; }, "the list restored", "users.csv", "as last applied");

            // Replaced by an empty file (renamed over it): not even a header, refused.
            await Act(async () => { await File.WriteAllTextAsync(csv + ".new", ""); File.Move(csv + ".new", csv, overwrite: true); },
                "the empty list refused", "refused, the running config stays in force", "'jid' column");
            await Restore();
            // Deleted.
            await Act(() => { File.Delete(csv); return Task.CompletedTask; }, "the deleted list refused", "refused, the running config stays in force", "does not exist");
            await Restore();
            // The link swapped to a header-only list: held, naming the three, never applied by itself.
            await Act(() => { Swap(headerOnly); return Task.CompletedTask; }, "the swapped link held", "HELD", "alice@example.test (users.csv:2)", "nothing applies it by itself");
            await Restore();
            // The link swapped to a device: refused without reading it whole.
            await Act(() => { Swap("/dev/zero"); return Task.CompletedTask; }, "the device refused", "refused, the running config stays in force", "too large");
            await Restore();
            // The config cut in the middle of an element (a copy interrupted, a disk full while saving).
            await Act(() => File.WriteAllTextAsync(world.ConfigPath, config[..(config.IndexOf("<organization", StringComparison.Ordinal) + 20)]),
                "the truncated config refused", "refused, the running config stays in force", "not well-formed");
            await Act(() => File.WriteAllTextAsync(world.ConfigPath, config), "the config restored", "imlogger.xml", "as last applied");

            Assert.That(imlogger.Lines.Where(l => l.Contains("Server rules for", StringComparison.Ordinal)), Has.All.Contain("4 logged user(s)"));
            Assert.That(imlogger.Lines.Where(l => l.Contains("NO LONGER LOGGED", StringComparison.Ordinal) || l.Contains("no longer logged: ", StringComparison.Ordinal) && !l.Contains("no longer logged: nobody", StringComparison.Ordinal)),
                Is.Empty, "nobody ever stopped being logged");
            Assert.That(await File.ReadAllTextAsync(script), Does.Contain("alice@example.test").And.Contain("carol@example.test"));
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        finally
        {
            Directory.Delete(lists, recursive: true);
        }
    }

    [Test, CancelAfter(180_000)]
    public async Task AHeldDropStillIdenticalAfterTheConfirmationPeriodIsAppliedAsAWarning()
    {
        const string attach = """
            <attach mode="inline" failure-mode="closed" timeout="5s" rules-out="tap" />
            <reload settle="0.3s" confirm-drops-after="2s" />
            """;
        var lists = Paths.TempDir("imlogger-csv-");
        var csv = Path.Combine(lists, "users.csv");
        await File.WriteAllTextAsync(csv, FullList);
        try
        {
            await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["dave"], null, exampleOrganizationXml: $"<csv path=\"{csv}\" />", attach: attach);
            await using var imlogger = world.RunImLogger();
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 4 logged user(s) written (start)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules at start");
            await File.WriteAllTextAsync(csv, "jid\n");
            var held = await imlogger.WaitForLineAsync(l => l.Contains("HELD", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the drop held");
            Assert.That(held, Does.Contain("(2s after first seen), the change is applied"));
            // Nothing touches the file: seen identical again after the period, the removal is taken as deliberate.
            var applied = await imlogger.WaitForLineAsync(l => l.Contains("NO LONGER LOGGED", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the confirmed drop");
            Assert.That(applied, Does.Contain(" WARN ").And.Contain("confirmed: the files stayed identical for")
                .And.Contain("alice@example.test, bob@example.test, carol@example.test"));
            await imlogger.WaitForLineAsync(l => l.Contains("Server rules for 1 logged user(s) written (reload)", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "rules rewritten");
            Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        }
        finally
        {
            Directory.Delete(lists, recursive: true);
        }
    }
}

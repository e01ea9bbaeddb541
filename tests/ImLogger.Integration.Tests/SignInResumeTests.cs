using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Approved clients at sign-in and XEP-0198 stream resumption, on real Prosody with mod_smacks and real ejabberd with
/// mod_stream_mgmt (the same scenarios and assertions), and real slixmpp clients
/// that enable resumption, lose their connection while the check runs and resume: the resumed session is still judged
/// before anything reaches it, a refused client still gets its one message, and a session ImLogger closed cannot be
/// resumed.
/// </summary>
[TestFixture]
public class SignInResumeTests
{
    private const string Closed = """<attach mode="inline" failure-mode="closed" timeout="5s" />""";
    private static string Approved(string within) => $"""<approved-clients answer-within="{within}"><client name="Slixmpp" min-version="1.8" /></approved-clients>""";
    private const string Component = "archive.example.test";

    private static string Version(string name, string version) => $"<query xmlns='jabber:iq:version'><name>{name}</name><version>{version}</version></query>";
    private static object ConnectResumable(string who, object answer) => new { @as = Jid(who), @do = "connect", answer, wait = "none", smacks = true };
    private static object Drop(string who) => new { @as = Jid(who), @do = "drop" };
    private static object Resume(string who, string expect = "resumed") => new { @as = Jid(who), @do = "resume", expect };
    private static object ExpectClosed(string who) => new { @as = Jid(who), @do = "expect_closed" };
    private static string Seen(JsonObject raw, string who) => string.Join('\n', (raw[Jid(who)]?.AsArray() ?? []).Select(x => (string?)x));
    private static JsonObject[] Got(JsonObject received, string who) => (received[Jid(who)]?.AsArray() ?? []).Select(m => (JsonObject)m!).ToArray();

    private static readonly string[] Servers = ["prosody", "ejabberd"];

    private static async Task<TapDeployment> StartAsync(string within, string server) =>
        await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice", "dave"], null, exampleOrganizationXml: Approved(within), attach: Closed, server: server,
            beforeStart: xmpp =>
            {
                if (xmpp is EjabberdServer ejabberd) ejabberd.UseStreamManagement();
                else ((ProsodyServer)xmpp).EnableModule("smacks");
            });

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task AClientThatResumesWhileJudgedIsStillRefusedToldOnceAndCannotResumeAgain(string server)
    {
        await using var world = await StartAsync("5s", server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var (received, raw, closed) = await RunClosingAsync(world.Server, world.Dir,
            Connect("bob"),
            ConnectResumable("dave", new { silent = true }),
            ExpectRaw("dave", "jabber:iq:version"),
            Drop("dave"), Resume("dave"),
            Chat("bob", "dave@example.test/test", "DURING-CHECK to dave's resumed session"),
            ExpectClosed("dave"),
            // The close revoked the session's resumption token: the refused client cannot come back by resuming.
            Resume("dave", expect: "failed"),
            Pause());

        var daveSaw = Seen(raw, "dave");
        Assert.Multiple(() =>
        {
            Assert.That((string?)closed[Jid("dave")]?["condition"], Is.EqualTo("policy-violation"), "the resumed session is closed with a stream error");
            var notices = Got(received, "dave").Where(m => (string?)m["from"] == Component).ToList();
            Assert.That(notices, Has.Count.EqualTo(1), "the one message naming the approved clients reaches the resumed connection:\n" + daveSaw);
            Assert.That(notices.Select(n => (string?)n["body"]).FirstOrDefault(), Does.Contain("Slixmpp 1.8 or later"));
            Assert.That(daveSaw, Does.Not.Contain("DURING-CHECK"), "nothing sent to the unjudged session reached it after it resumed");
        });
        // What the client saw held also with the gate's send wrapper lost at resumption (checked): no module Prosody loads
        // here sends anything straight to a session that has no presence and asked for no roster. The wrapper is put back
        // all the same (the module's promise is that nothing the server sends directly reaches an unjudged session).
        Assert.That(world.Server.Log, Does.Contain("resumed (XEP-0198) while its client is not judged yet"));
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = world.Archived().Select(m => m.TextBody ?? "").ToList();
        Assert.That(archived.Any(t => t.Contains("sign-in of dave@example.test/test", StringComparison.Ordinal)),
            "the refused sign-in is archived:\n" + string.Join("\n----\n", archived));
    }

    [TestCaseSource(nameof(Servers)), CancelAfter(180_000)]
    public async Task AnApprovedClientThatResumesWhileJudgedIsAdmittedAndGetsWhatWaited(string server)
    {
        await using var world = await StartAsync("10s", server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var received = (await RunClosingAsync(world.Server, world.Dir,
            Connect("bob"),
            ConnectResumable("alice", new { xml = Version("Slixmpp", "1.8.3"), after_resume = true }),
            ExpectRaw("alice", "jabber:iq:version"),
            Drop("alice"),
            Chat("bob", "alice@example.test/test", "DURING-CHECK to alice"),
            Resume("alice"),
            Expect("alice", "bob", "DURING-CHECK to alice"),
            Chat("alice", "bob", "after resuming"), Expect("bob", "alice", "after resuming"),
            Pause())).Received;

        Assert.That(Got(received, "alice").Any(m => (string?)m["type"] == "error"), Is.False, "the approved client is refused nothing");
        Assert.That(Got(received, "alice").Count(m => (string?)m["body"] == "DURING-CHECK to alice"), Is.EqualTo(1), "what waited arrives once");
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        Assert.That(world.Archived().Any(m => (m.TextBody ?? "").Contains("after resuming", StringComparison.Ordinal)), "archived as usual");
    }
}

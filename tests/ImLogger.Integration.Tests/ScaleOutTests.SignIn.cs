using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// Approved clients at sign-in, scaled out (docs/scale-out.md, "Approved clients at sign-in"), on both servers: a logged
/// user's new session is judged by the instance that owns the user's conversation with their server (where a refused
/// sign-in is archived), not by the one the module's <c>component</c> option names. With that instance away (fail-closed)
/// the check waits for it as with a single instance and is never judged by the other; the users the other instance owns
/// sign in meanwhile.
/// </summary>
public partial class ScaleOutTests
{
    [TestCaseSource(nameof(Servers)), CancelAfter(240_000)]
    public async Task SignInIsJudgedByTheInstanceOwningTheUser_WhileItIsAwayItsUsersWaitAndTheOthersSignIn(string server)
    {
        const string ownedBySecond = "sa01", ownedByFirst = "sa05";
        const string approved = """<approved-clients answer-within="2s"><client name="Slixmpp" min-version="1.8" /></approved-clients>""";
        var host = ProsodyServer.Domain;
        Assert.Multiple(() =>
        {
            Assert.That((Bucket(PairKey(Jid(ownedBySecond), host), 2), Bucket(PairKey(Jid(ownedByFirst), host), 2)), Is.EqualTo((1, 0)),
                "each instance owns one of the two users' conversation with the server");
            // Fixed names whose bare JID alone hashes the other way: asking by the user alone would pick the wrong instance.
            Assert.That((Bucket(Jid(ownedBySecond), 2), Bucket(Jid(ownedByFirst), 2)), Is.EqualTo((0, 1)), "the names tell the two rules apart");
        });
        string[] logged = [ownedBySecond, ownedByFirst];
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged,
            $"""<scale-out components="{First} {Second}" />""", NoNotices + approved,
            attach: """<attach mode="inline" failure-mode="closed" timeout="3s" />""", seats: logged.Length, server: server, moreAccounts: logged);
        var version = new { xml = "<query xmlns='jabber:iq:version'><name>Slixmpp</name><version>1.8.3</version></query>" };
        var secondConfig = SecondInstance(world);
        // Only the second instance runs: the first, the one the module's `component` option names, is away.
        var secondRun = world.Own(ImLoggerProcess.Run(secondConfig, TapDeployment.Secret, "imlogger-2", "Info"));
        ProcessRunner? firstRun = null;
        try
        {
            await ImLoggerProcess.WaitConnectedAsync(secondRun);
            var (_, _, closed) = await RunClosingAsync(world.Server, world.Dir,
                new { @as = Jid(ownedBySecond), @do = "connect", answer = version },
                new { @as = Jid(ownedByFirst), @do = "connect", answer = version, wait = "none" },
                ExpectRaw(ownedByFirst, "jabber:iq:version"),
                new { @as = Jid(ownedByFirst), @do = "expect_closed" });
            Assert.Multiple(() =>
            {
                Assert.That(closed.ContainsKey(Jid(ownedBySecond)), Is.False, "the second instance's user signed in while the first was away");
                Assert.That(secondRun.Output, Does.Contain($"Sign-in of {Jid(ownedBySecond)}/test allowed"), "judged by the instance owning the user");
                Assert.That((string?)closed[Jid(ownedByFirst)]?["text"], Does.Contain("ImLogger could not check which client you use"),
                    "fail-closed: the first instance's user waited for it, then was closed as with a single instance away");
                Assert.That(secondRun.Output, Does.Not.Contain($"Sign-in of {Jid(ownedByFirst)}"), "never judged by an instance that does not own the user");
            });

            // The first instance is back: its user signs in, judged by it.
            firstRun = world.RunImLogger("imlogger-1", logLevel: "Info");
            await ImLoggerProcess.WaitConnectedAsync(firstRun);
            var (_, _, closedAfter) = await RunClosingAsync(world.Server, world.Dir,
                new { @as = Jid(ownedByFirst), @do = "connect", answer = version });
            Assert.Multiple(() =>
            {
                Assert.That(closedAfter.ContainsKey(Jid(ownedByFirst)), Is.False, "signed in once its instance is back");
                Assert.That(firstRun.Output, Does.Contain($"Sign-in of {Jid(ownedByFirst)}/test allowed"), "judged by its own instance");
                Assert.That(secondRun.Output, Does.Not.Contain($"Sign-in of {Jid(ownedByFirst)}"), "and not by the other");
            });
        }
        finally
        {
            await secondRun.DisposeAsync();
            if (firstRun != null) await firstRun.DisposeAsync();
        }
    }

    /// <summary>Fail-open: the user of an instance that is away is judged by the next instance up (the re-hash stanzas get),
    /// not admitted unchecked.</summary>
    [TestCaseSource(nameof(Servers)), CancelAfter(240_000)]
    public async Task FailOpen_SignInOfAnAwayInstancesUserIsJudgedByTheNextOneUp(string server)
    {
        const string ownedByFirst = "sa05";
        const string approved = """<approved-clients answer-within="2s"><client name="Slixmpp" min-version="1.8" /></approved-clients>""";
        Assert.That(Bucket(PairKey(Jid(ownedByFirst), ProsodyServer.Domain), 2), Is.Zero, "the first instance owns the user");
        string[] logged = [ownedByFirst];
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, logged,
            $"""<scale-out components="{First} {Second}" />""", NoNotices + approved,
            attach: """<attach mode="inline" failure-mode="open" timeout="20s" />""", seats: logged.Length, server: server, moreAccounts: logged);
        var secondRun = world.Own(ImLoggerProcess.Run(SecondInstance(world), TapDeployment.Secret, "imlogger-2", "Info"));
        try
        {
            await ImLoggerProcess.WaitConnectedAsync(secondRun);
            var (_, _, closed) = await RunClosingAsync(world.Server, world.Dir,
                new { @as = Jid(ownedByFirst), @do = "connect", answer = new { xml = "<query xmlns='jabber:iq:version'><name>EvilClient</name><version>9</version></query>" }, wait = "none" },
                new { @as = Jid(ownedByFirst), @do = "expect_closed" });
            Assert.Multiple(() =>
            {
                // An unapproved client: refused by the instance that judged it, so it was judged, not admitted unchecked.
                Assert.That((string?)closed[Jid(ownedByFirst)]?["condition"], Is.EqualTo("policy-violation"));
                Assert.That(secondRun.Output, Does.Contain($"Sign-in of {Jid(ownedByFirst)}/test REFUSED"), "judged by the instance that is up");
                Assert.That(world.Server.Log, Does.Not.Contain("admitted unchecked"), "not let through unjudged");
            });
        }
        finally
        {
            await secondRun.DisposeAsync();
        }
    }
}

using System.Text.Json.Nodes;
using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>What each participant's real client receives from the archive, and what the transcript records of it.</summary>
[TestFixture]
public class NotificationTests
{
    private const string Component = "archive.example.test";
    private const string DefaultStart = "All instant messages sent in this session to and from this account";
    private const string PartnerText = "Partner Corp archives this conversation.";
    private const string Inline = """<attach mode="inline" failure-mode="closed" timeout="10s" />""";

    /// <summary>Notices from the component.</summary>
    private static string[] Notices(JsonObject received, string who) =>
        (received[Jid(who)]?.AsArray() ?? [])
            .Where(m => (string?)m!["from"] == Component)
            .Select(m => (string)m!["body"]!)
            .ToArray();

    [Test, CancelAfter(180_000)]
    public async Task OneToOneBothSidesAreToldOnceAndTheTranscriptSaysSo()
    {
        await using var world = await TapDeployment.StartAsync();
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var received = await RunAsync(world.Prosody, world.Dir,
            Connect("alice"), Connect("erin@partner.test"),
            Chat("alice", "erin@partner.test", "hello erin"), Expect("erin@partner.test", "alice", "hello erin"),
            Chat("erin@partner.test", "alice", "hello alice"), Expect("alice", "erin@partner.test", "hello alice"),
            Chat("alice", "erin@partner.test", "again"), Expect("erin@partner.test", "alice", "again"),
            Pause());

        Assert.Multiple(() =>
        {
            Assert.That(Notices(received, "alice"), Has.Length.EqualTo(1));
            Assert.That(Notices(received, "erin@partner.test"), Has.Length.EqualTo(1));
            Assert.That(Notices(received, "erin@partner.test")[0], Does.StartWith(DefaultStart));
        });
        await ImLoggerProcess.WaitSpooledAsync(imlogger, 4);
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);

        var eml = world.Archived().Single();
        var text = eml.TextBody ?? "";
        var lines = text.ReplaceLineEndings("\n").Split('\n').Where(l => l.StartsWith('[')).ToArray();
        Assert.That(lines, Has.Length.EqualTo(4), text);
        Assert.That(lines[0], Does.EndWith("hello erin"));
        Assert.That(lines[1], Does.Contain("[notice to alice@example.test, erin@partner.test]").And.Contain(DefaultStart),
            "recorded as sent: it went out to both (the outcome is said on the notice's line)");
        Assert.That(text, Does.Not.Contain("imlogger-notice"), "the notices copied back by the server are not archived as messages");
        // Sortable in a mail archive (issue 19): addressed as the conversation was, dated by its last event.
        var lastAt = DateTimeOffset.ParseExact(lines[^1][1..21], "yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal);
        Assert.Multiple(() =>
        {
            Assert.That(eml.From.Mailboxes.Single().Address, Is.EqualTo("alice@example.test"), "the first sender");
            Assert.That(eml.To.Mailboxes.Select(m => m.Address), Is.EqualTo(new[] { "erin@partner.test" }));
            Assert.That(eml.Sender?.Address, Does.StartWith("imlogger@"), "the archive sent it");
            Assert.That(eml.Date, Is.EqualTo(lastAt), "the last event's second, not the idle close");
        });
    }

    /// <summary>Prosody's default, semi-anonymous rooms: alice creates the room (its owner, a moderator: her copies name every
    /// occupant), erin is a participant (the room hides real JIDs from her). Inline: mod_imlogger_muc names every occupant
    /// on both logged users' copies, and hidden ones are told through the room. Tap: occupants are known from alice's
    /// copies, whichever logged user's copy of a join comes first (before the fix, erin's first meant bob or frank was
    /// never told). Counted from every stanza each client received, so a notice told twice would show.</summary>
    /// <remarks>On ejabberd (issue 18) the same scenario and assertions: its rooms are semi-anonymous by default too, and
    /// mod_imlogger_muc.erl names the occupants and delivers the notices through the room.</remarks>
    [TestCase(null, "prosody", TestName = "GroupChatWithTwoLoggedUsersOfDifferentOrganizations")]
    [TestCase(Inline, "prosody", TestName = "InlineGroupChatWithTwoLoggedUsersOfDifferentOrganizations")]
    [TestCase(Inline, "ejabberd", TestName = "InlineGroupChatWithTwoLoggedUsersOfDifferentOrganizationsOnEjabberd")]
    [CancelAfter(180_000)]
    public async Task GroupChatWithTwoLoggedUsersOfDifferentOrganizations(string? attach, string server)
    {
        var partnerOrg = $"""
            <organization domain="partner.test" endpoint="local-archive" seats="10"{(attach == null ? "" : $" group-chat-hosts=\"{ProsodyServer.Muc}\"")}>
                <notifications>{PartnerText}</notifications>
                <user jid="erin@partner.test" />
              </organization>
            """;
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], partnerOrg, attach: attach, semiAnonymousRooms: true,
            organizationAttributes: attach == null ? null : $"group-chat-hosts=\"{ProsodyServer.Muc}\"", server: server);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);

        var (_, raw) = await RunCollectingAsync(world.Server, world.Dir,
            Connect("alice"), Connect("erin@partner.test"), Connect("bob"), Connect("frank@partner.test"),
            Join("alice", "board", "alice"), Pause(0.5),
            Join("erin@partner.test", "board", "erin"), Pause(0.5),
            Join("bob", "board", "bob"), Pause(0.5),
            Join("frank@partner.test", "board", "frank"), Pause(0.5),
            GroupChat("bob", "board", "agenda?"), Expect("alice", Room("board") + "/bob", "agenda?"),
            GroupChat("alice", "board", "item one"), Expect("frank@partner.test", Room("board") + "/alice", "item one"),
            Pause());

        foreach (var who in new[] { "alice", "erin@partner.test", "bob", "frank@partner.test" })
        {
            var notices = NoticeReceipts.Of(raw, who);
            Assert.That(notices, Has.Length.EqualTo(2), $"{who} gets one notice per distinct text: {string.Join(" | ", notices)}");
            Assert.That(notices.Count(n => n.StartsWith(DefaultStart, StringComparison.Ordinal)), Is.EqualTo(1), who);
            Assert.That(notices.Count(n => n == PartnerText), Is.EqualTo(1), who);
        }

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var room = world.Archived().Single(m => (m.Headers["X-ImLogger-Conversation"] ?? "").StartsWith("board", StringComparison.Ordinal));
        var noticeLines = (room.TextBody ?? "").ReplaceLineEndings("\n").Split('\n').Where(l => l.Contains("[notice to ", StringComparison.Ordinal)).ToArray();
        Assert.That(noticeLines.Count(l => l.Contains(PartnerText, StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(1), room.TextBody);
        Assert.That(noticeLines.Count(l => l.Contains(DefaultStart, StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(1), room.TextBody);
    }
}

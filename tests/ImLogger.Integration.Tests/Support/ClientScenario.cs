using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImLogger.Integration.Tests.Support;

/// <summary>Runs clients/scenario.py: real XMPP clients (Debian's python3-slixmpp) playing a scripted conversation.</summary>
internal static class ClientScenario
{
    public static object Connect(string user, string resource = "test") => new { @as = Jid(user), @do = "connect", resource };
    public static object Chat(string from, string to, string body, string? html = null) =>
        html == null ? new { @as = Jid(from), @do = "chat", to = Jid(to), body } : new { @as = Jid(from), @do = "chat", to = Jid(to), body, html };
    public static object Expect(string who, string from, string body) => new { @as = Jid(who), @do = "expect", from = from.Contains('@') ? from : Jid(from), body };
    public static object Join(string who, string room, string nick) => new { @as = Jid(who), @do = "join", room = Room(room), nick };
    /// <summary>Joins asking the room for up to <paramref name="history"/> stanzas of its history.</summary>
    public static object JoinWithHistory(string who, string room, string nick, int history) =>
        new { @as = Jid(who), @do = "join", room = Room(room), nick, history };
    public static object GroupChat(string who, string room, string body) => new { @as = Jid(who), @do = "groupchat", room = Room(room), body };
    public static object Leave(string who, string room, string nick) => new { @as = Jid(who), @do = "leave", room = Room(room), nick };
    /// <summary>Lets presence broadcasts reach everyone (a leave is not acknowledged to the others, so there is nothing to wait for).</summary>
    public static object Pause(double seconds = 1) => new { @do = "sleep", seconds };
    public static object Disconnect(string who) => new { @as = Jid(who), @do = "disconnect" };

    /// <summary>"alice" is alice@example.test; a full JID stays as it is.</summary>
    public static string Jid(string user) => user.Contains('@') ? user : $"{user}@{ProsodyServer.Domain}";
    public static string Room(string room) => $"{room}@{ProsodyServer.Muc}";

    /// <summary>Plays the steps; returns what each client received (JID -> messages).</summary>
    public static async Task<JsonObject> RunAsync(IXmppServer server, string dir, params object[] steps) =>
        (await RunCollectingAsync(server, dir, steps)).Received;

    /// <summary>Sends raw XML as the user's client.</summary>
    public static object Send(string who, string xml) => new { @as = Jid(who), @do = "send", xml };
    /// <summary>Waits until the user's client receives any stanza whose XML contains <paramref name="text"/>.</summary>
    public static object ExpectRaw(string who, string text) => new { @as = Jid(who), @do = "expect_raw", contains = text };
    /// <summary>Answers the first stanza <paramref name="who"/> received whose XML contains <paramref name="text"/> with an
    /// error of the same id, sent to <paramref name="to"/> (a client claiming to bounce it).</summary>
    public static object ErrorBack(string who, string text, string to) => new { @as = Jid(who), @do = "error_back", contains = text, to };
    /// <summary>Creates <paramref name="path"/> (a phase of the scenario is done).</summary>
    public static object Signal(string path) => new { @do = "signal", path };
    /// <summary>Waits until the test creates <paramref name="path"/>.</summary>
    public static object WaitFile(string path) => new { @do = "wait_file", path };
    /// <summary>Waits until the test creates <paramref name="path"/>, for up to <paramref name="seconds"/> (a restart of
    /// imlogger on a loaded machine can take longer than a step's usual 15 s).</summary>
    public static object WaitFile(string path, double seconds) => new { @do = "wait_file", path, seconds };

    /// <summary>Plays the steps; also returns the stream errors the server closed clients with (JID -> {condition, text}).</summary>
    public static async Task<(JsonObject Received, JsonObject Raw, JsonObject Closed)> RunClosingAsync(IXmppServer server, string dir, params object[] steps)
    {
        var (received, raw, lines) = await PlayAsync(server, dir, steps);
        var closed = lines.Last(l => l.StartsWith("{\"closed\"", StringComparison.Ordinal));
        return (received, raw, (JsonObject)JsonNode.Parse(closed)!["closed"]!);
    }

    /// <summary>Plays the steps; returns what each client received (JID -> messages) and every stanza each
    /// client received, as XML (JID -> strings).</summary>
    public static async Task<(JsonObject Received, JsonObject Raw)> RunCollectingAsync(IXmppServer server, string dir, params object[] steps)
    {
        var (received, raw, _) = await PlayAsync(server, dir, steps);
        return (received, raw);
    }

    private static async Task<(JsonObject Received, JsonObject Raw, IReadOnlyList<string> Lines)> PlayAsync(IXmppServer server, string dir, object[] steps)
    {
        var file = Path.Combine(dir, $"scenario-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { password = ProsodyServer.Password, steps }));
        await using var python = ProcessRunner.Start("clients", "/usr/bin/python3", [Paths.ScenarioScript, "127.0.0.1", server.C2sPort.ToString(), file]);
        var code = await python.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.That(code, Is.Zero, $"the client scenario failed:\n{python.Output}");
        var last = python.Lines.Last(l => l.StartsWith("{\"received\"", StringComparison.Ordinal));
        var raw = python.Lines.Last(l => l.StartsWith("{\"raw\"", StringComparison.Ordinal));
        return ((JsonObject)JsonNode.Parse(last)!["received"]!, (JsonObject)JsonNode.Parse(raw)!["raw"]!, python.Lines.ToList());
    }
}

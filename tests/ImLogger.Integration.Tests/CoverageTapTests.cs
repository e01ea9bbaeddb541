using ImLogger.Integration.Tests.Support;
using static ImLogger.Integration.Tests.Support.ClientScenario;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The coverage pass on real Prosody, tap mode, real slixmpp clients and the real component: text beside signalling,
/// a second-language body, and text in places no rule reads (a thread, a chat state, an address description) is
/// delivered and archived, in both directions, in the .eml text part.
/// </summary>
[TestFixture]
public class CoverageTapTests
{
    private static IEnumerable<(string Xml, string Marker)> Shapes(string to, string dir)
    {
        yield return ($"<message to='{to}' type='chat' id='r-{dir}'><ringing xmlns='urn:xmpp:jingle-message:0' id='call-{dir}'/><body>RING-{dir} call me</body></message>", $"RING-{dir}");
        yield return ($"<message to='{to}' type='chat' id='x-{dir}'><retract xmlns='urn:xmpp:message-retract:1' id='old-{dir}'/><body>RETRACT-{dir} still here</body></message>", $"RETRACT-{dir}");
        yield return ($"<message to='{to}' type='chat' id='l-{dir}'><body>harmless</body><body xml:lang='de'>LANG-{dir} geheim</body></message>", $"body [de]: LANG-{dir}");
        yield return ($"<message to='{to}' type='chat' id='t-{dir}'><body>plain</body><thread>THREAD-{dir}</thread></message>", $"THREAD-{dir}");
        yield return ($"<message to='{to}' type='chat' id='c-{dir}'><composing xmlns='http://jabber.org/protocol/chatstates'>STATE-{dir}</composing></message>", $"STATE-{dir}");
        yield return ($"<message to='{to}' type='chat' id='a-{dir}'><body>hi</body><addresses xmlns='http://jabber.org/protocol/address'><address type='cc' jid='carol@example.test' desc='DESC-{dir}'/></addresses></message>", $"DESC-{dir}");
    }

    [Test, CancelAfter(180_000)]
    public async Task TextBesideWhatTheClassifierRecognisesIsArchived()
    {
        await using var world = await TapDeployment.StartAsync("1h", TapDeployment.Secret, ["alice"], null);
        await using var imlogger = world.RunImLogger();
        await ImLoggerProcess.WaitConnectedAsync(imlogger);
        string alice = Jid("alice"), bob = Jid("bob");
        var outgoing = Shapes(bob + "/test", "OUT").ToList();
        var incoming = Shapes(alice + "/test", "IN").ToList();
        var steps = new List<object> { Connect("alice"), Connect("bob") };
        steps.AddRange(outgoing.Select(s => Send("alice", s.Xml)));
        steps.AddRange(incoming.Select(s => Send("bob", s.Xml)));
        // Delivered: each reached the other side.
        steps.AddRange(outgoing.Select(s => ExpectRaw("bob", s.Marker.Replace("body [de]: ", "", StringComparison.Ordinal))));
        steps.AddRange(incoming.Select(s => ExpectRaw("alice", s.Marker.Replace("body [de]: ", "", StringComparison.Ordinal))));
        steps.Add(Pause());
        await RunCollectingAsync(world.Prosody, world.Dir, [.. steps]);

        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var archived = string.Join("\n", world.Archived().Select(m => m.TextBody ?? ""));
        Assert.Multiple(() =>
        {
            foreach (var (_, marker) in outgoing.Concat(incoming))
                Assert.That(archived, Does.Contain(marker), $"{marker} is in the archived text");
            Assert.That(archived, Does.Contain("more content"));
        });
    }
}

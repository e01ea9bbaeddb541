using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>
/// Failover against a fake server that answers as Prosody 0.12's mod_component does (docs/failover.md): with
/// component_conflict_resolve = "kick_new" (the default) a second connection's handshake is answered with
/// &lt;conflict/&gt; "Component already connected"; with "kick_old" the connected one gets &lt;conflict/&gt; "Replaced by a new connection".
/// </summary>
public class ComponentConnectionFailoverTests
{
    private static Harness Standby(bool standby = true) => new(o =>
    {
        o.Standby = standby;
        o.StandbyRetry = TimeSpan.FromMilliseconds(20);
    });

    [Test]
    public async Task AStandbyRefusedWithConflictWaitsQuietlyAtItsPace_ThenTakesOver()
    {
        await using var h = Standby().Start();
        var changes = new List<ComponentStatus>();
        h.Connection.StatusChanged += s => { lock (changes) changes.Add(s); };
        for (var i = 0; i < 3; i++)
        {
            using var refused = await h.Server.AcceptAsync();
            await refused.ReadHeaderAndDigestAsync($"id{i}");
            await refused.SendStreamErrorAsync("conflict", "Component already connected");
        }
        // The fourth attempt finds the component free: the active one's connection ended.
        using var taken = await h.Server.AcceptAsync();
        Assert.That(h.Connection.Status.State, Is.EqualTo(ComponentLinkState.Standby));
        Assert.That(h.Connection.Status.StandbyAttempts, Is.EqualTo(3));
        await taken.HandshakeAsync("id3");
        await h.WaitConnectedAsync();

        Assert.Multiple(() =>
        {
            Assert.That(h.Log.At(LogLevel.Warning), Is.Empty, "a configured standby expects the conflict");
            Assert.That(h.Log.At(LogLevel.Error), Is.Empty);
            Assert.That(h.Log.At(LogLevel.Information).Count(m => m.StartsWith("Standby:", StringComparison.Ordinal)), Is.EqualTo(1), "logged once, not per attempt");
            Assert.That(h.Log.At(LogLevel.Information).Single(m => m.StartsWith("Took over", StringComparison.Ordinal)), Does.Contain("3 attempt(s) refused with conflict"));
            Assert.That(h.Connection.Status, Is.EqualTo(h.Connection.Status with { State = ComponentLinkState.Active, TookOver = true }));
            lock (changes) Assert.That(changes.Select(c => c.State), Is.EqualTo(new[] { ComponentLinkState.Standby, ComponentLinkState.Active }));
        });
    }

    [Test]
    public async Task AnInstanceNotConfiguredAsStandbyWarnsOnceThatAnotherHoldsTheComponent()
    {
        await using var h = Standby(standby: false).Start();
        for (var i = 0; i < 2; i++)
        {
            using var refused = await h.Server.AcceptAsync();
            await refused.ReadHeaderAndDigestAsync($"id{i}");
            await refused.SendStreamErrorAsync("conflict", "Component already connected");
        }
        using var third = await h.Server.AcceptAsync();
        await third.HandshakeAsync("id2");
        await h.WaitConnectedAsync();
        var warning = h.Log.At(LogLevel.Warning).Single();
        Assert.That(warning, Does.Contain("another component is already connected").And.Contain("not configured as a standby").And.Contain("as standby"));
    }

    [Test]
    public async Task ReplacedWhileConnected_KickOld_IsAnErrorNamingTheSetting_AndNotRetriedAtTheStandbyPace()
    {
        await using var h = Standby().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync("id1");
            await h.WaitConnectedAsync();
            await first.SendStreamErrorAsync("conflict", "Replaced by a new connection");
        }
        using var second = await h.Server.AcceptAsync();
        Assert.Multiple(() =>
        {
            Assert.That(h.Log.At(LogLevel.Error).Single(), Does.Contain("component_conflict_resolve = \"kick_old\"").And.Contain("kick_new"));
            Assert.That(h.Connection.Status.State, Is.EqualTo(ComponentLinkState.Standby));
        });
        await second.HandshakeAsync("id2");
        await h.WaitConnectedAsync();
        Assert.That(h.Connection.Status.TookOver, Is.True);
    }

    [Test]
    public async Task OtherFailuresKeepTheirBackoffAndWarning_AndAreNotStandby()
    {
        await using var h = Standby().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.ReadHeaderAndDigestAsync("id1");
            await first.SendStreamErrorAsync("system-shutdown");
        }
        using var second = await h.Server.AcceptAsync();
        Assert.That(h.Connection.Status.State, Is.EqualTo(ComponentLinkState.Connecting));
        Assert.That(h.Connection.Status.Problem, Does.Contain("shutting down"));
        await second.HandshakeAsync("id2");
        await h.WaitConnectedAsync();
        Assert.That(h.Connection.Status.TookOver, Is.False, "a reconnect after a server restart is not a takeover");
        Assert.That(h.Log.At(LogLevel.Warning).Single(), Does.Contain("retrying in"));
    }
}

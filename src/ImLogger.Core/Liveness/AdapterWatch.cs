using System.Globalization;
using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Liveness;

/// <summary>One domain's state in <see cref="AdapterWatch.Check"/>: healthy (or still within its first deadline), or a problem.</summary>
/// <param name="Domain">The organization domain; empty for the connection itself.</param>
/// <param name="Healthy">False: <paramref name="Text"/> is a problem the operator must fix.</param>
/// <param name="Text">One line, naming the domain and, for a problem, what to check.</param>
public sealed record AdapterStatus(string Domain, bool Healthy, string Text);

/// <summary>
/// Knows, per configured organization domain, whether the server side that routes its users' stanzas to ImLogger
/// (mod_imlogger_inline, or the tap rules of mod_firewall) is loaded and current: it is when a sign of life
/// (<see cref="AdapterSignal"/>) with the generation of the config in force came within <see cref="AttachSettings.AliveDeadline"/>.
/// A domain silent for longer is a problem: its users are not logged although ImLogger is connected.
/// </summary>
/// <remarks>Thread-safe: signs arrive on the connection's reader, checks come from a timer and operator commands. Ages are
/// measured on the monotonic clock (<see cref="TimeProvider.GetTimestamp"/>): a wall clock stepped back must not keep a
/// silent domain "healthy" for a day, nor one stepped forward raise false alarms.</remarks>
public sealed partial class AdapterWatch
{
    /// <summary>A domain's last sign (monotonic timestamps).</summary>
    private sealed record Heard(long At, string Generation, string Detail, long? CurrentAt);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Heard> _heard = new(StringComparer.Ordinal);
    private long? _connectedAt;
    private readonly Func<ImLoggerConfig> config;
    private readonly TimeProvider time;
    private string _expected;
    private long _expectedSince;

    /// <param name="config">The config in force (read at each check: a reload may change the rules' generation).</param>
    /// <param name="time">The clock.</param>
    public AdapterWatch(Func<ImLoggerConfig> config, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        this.config = config;
        this.time = time;
        _expected = RulesGeneration.Of(config());
        _expectedSince = time.GetTimestamp();
        Remember(_expected, config());
    }

    /// <summary>The component is connected (again): every domain gets a fresh deadline, and signs of an earlier stream no longer count.</summary>
    public void Connected()
    {
        lock (_lock)
        {
            _connectedAt = time.GetTimestamp();
            _heard.Clear();
        }
    }

    /// <summary>The component lost its stream: nothing can be heard until it is back.</summary>
    public void Disconnected()
    {
        lock (_lock) _connectedAt = null;
    }

    /// <summary>Records a sign of life.</summary>
    /// <returns>True when it is the first sign of the domain's current rules since the component connected (worth an
    /// Information line); false for the routine heartbeats after it.</returns>
    public bool Observe(AdapterSign sign)
    {
        ArgumentNullException.ThrowIfNull(sign);
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var expected = Expected(now);
            _heard.TryGetValue(sign.Domain, out var before);
            var current = sign.Generation == expected;
            _heard[sign.Domain] = new Heard(now, sign.Generation, sign.Detail, current ? now : before?.CurrentAt);
            return current && before?.CurrentAt == null;
        }
    }

    /// <summary>Each configured domain's state now, in config order; a single problem when the component is not connected.</summary>
    public IReadOnlyList<AdapterStatus> Check()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var cfg = config();
            var expected = Expected(now);
            if (_connectedAt is not { } connectedAt)
                return [new AdapterStatus("", false, "ImLogger is not connected to the XMPP server: nothing is being logged; its log says why (wrong port or secret, Prosody down)")];
            var deadline = cfg.Attach.AliveDeadline;
            var what = cfg.Attach.Mode == AttachMode.Inline ? "mod_imlogger_inline" : "mod_firewall with the tap rules (imlogger.pfw)";
            var statuses = new List<AdapterStatus>();
            foreach (var domain in cfg.Organizations.SelectMany(o => o.Domains))
            {
                _heard.TryGetValue(domain, out var heard);
                var reference = connectedAt > _expectedSince ? connectedAt : _expectedSince;
                if (heard?.CurrentAt is { } at && Age(at, now) <= deadline)
                    statuses.Add(new AdapterStatus(domain, true, $"{domain}: {what} loaded and current (generation {expected}; {heard.Detail}; heard {Seconds(Age(heard.At, now))} s ago)"));
                else if (Age(reference, now) <= deadline)
                    statuses.Add(new AdapterStatus(domain, true, heard == null
                        ? $"{domain}: waiting for the first heartbeat of {what} (due within {Seconds(deadline)} s)"
                        : $"{domain}: configured, waiting for the server side (generation {expected}, server has {GenerationText(heard.Generation)}; due within {Seconds(deadline)} s){Difference(heard.Generation, expected)}"));
                else if (heard != null && Age(heard.At, now) <= deadline)
                    statuses.Add(new AdapterStatus(domain, false,
                        $"{domain}: STALE USER LIST: {what} is loaded but runs the rules of another config (generation {GenerationText(heard.Generation)}, expected {expected}), " +
                        $"so it may not hold or copy the users logged now{Difference(heard.Generation, expected)}: write them again (`imlogger prosody-config --config {cfg.SourcePath} --out DIR`, or <attach rules-out>) and run `prosodyctl reload`"));
                else
                    statuses.Add(new AdapterStatus(domain, false,
                        $"{domain}: {(heard == null ? $"no heartbeat from {what} for {Seconds(Age(reference, now))} s" : $"{what} stopped answering {Seconds(Age(heard.At, now))} s ago")}: " +
                        $"it is not loaded for VirtualHost \"{domain}\", so {Consequence(cfg)}. Check that prosody.cfg.lua has the line Include \"DIR/imlogger.cfg.lua\" " +
                        "(DIR: where `imlogger prosody-config --out` or <attach rules-out> writes; a missing Include is the usual cause), and that nothing after it " +
                        $"(a later conf.d file) sets modules_enabled for that VirtualHost; if something does, add \"{(cfg.Attach.Mode == AttachMode.Inline ? "imlogger_inline" : "firewall")}\" " +
                        "to that list; then run `prosodyctl reload` and look for errors in Prosody's log. (Also seen when ImLogger reads that far behind Prosody: then its log shows why, a spool that cannot write for one.)"));
            }
            return statuses;
        }
    }

    private static string Consequence(ImLoggerConfig cfg) => cfg.Attach.Mode == AttachMode.Inline
        ? "nothing of its logged users is held: their stanzas are delivered unarchived and unrestricted"
        : "nothing its logged users send or receive is copied to ImLogger: none of it is archived";

    /// <summary>The generation the config in force needs; a new one (after a reload) starts a new deadline for every domain.</summary>
    private string Expected(long now)
    {
        var expected = RulesGeneration.Of(config());
        if (expected == _expected) return expected;
        _expected = expected;
        _expectedSince = now;
        Remember(expected, config());
        foreach (var (domain, heard) in _heard.ToList())
            _heard[domain] = heard with { CurrentAt = heard.Generation == expected ? heard.At : null };
        return expected;
    }

    private TimeSpan Age(long since, long now) => time.GetElapsedTime(since, now);

    private static string Seconds(TimeSpan t) => Math.Round(t.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}

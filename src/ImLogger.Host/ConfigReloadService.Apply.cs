using ImLogger.Config;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

internal sealed partial class ConfigReloadService
{
    /// <summary>Reads the files once stable, checks them, decides (<see cref="ReloadGuard"/>) and puts the new config in force.</summary>
    /// <param name="reason">What started the pass, for the log.</param>
    /// <param name="forced">SIGHUP or <c>imlogger reload</c>: reload even if the files are as last applied (rewrites the rules).</param>
    /// <param name="confirm">The operator confirmed a sudden drop.</param>
    /// <param name="ct">Stops the settle waits (the service is stopping).</param>
    private async Task<(int Code, string Text)> ReloadAsync(string reason, bool forced, bool confirm, CancellationToken ct)
    {
        var running = holder.Current;
        var settings = running.Reload; // the running config's: a half-written file must not shorten its own confirmation
        var read = await _reader.LoadAsync(running.SourcePath, running.ReferencedFiles, settings.Settle, SettleTries, ct);
        if (read.Unsettled.Count > 0)
        {
            var text = $"{string.Join(", ", read.Unsettled)} kept changing for {(settings.Settle * SettleTries).TotalSeconds:0}s, so it was not read; " +
                       "the running config stays in force. It is read again at its next change; once the writer has finished, `imlogger reload` reads it at once";
            logger.LogWarning("Config reload ({Reason}) postponed: {Problem}", reason, text);
            return (1, text);
        }
        var fingerprint = read.Files.Fingerprint();
        if (read.Error is { } error)
        {
            // The error stands once the files are stable; a missing or unreadable list says so in the loader's words.
            RefuseOnce(error.Message, reason);
            return (1, $"refused, the running config stays in force: {error.Message}");
        }
        var next = read.Config!;
        if (!forced && fingerprint == _appliedFingerprint)
        {
            _lastError = null; // back to what runs: the next breakage is news again
            if (_guard.Holding is { } withdrawn)
            {
                // The list was written again in full: the half one is forgotten, and nothing changes.
                _guard.Forget();
                _recheck?.Cancel();
                logger.LogInformation("Config reload ({Reason}): the held drop of {Count} logged user(s) is withdrawn: the files are back as last applied", reason, withdrawn.Count);
                return (0, "unchanged: the files are back as last applied; the held drop is withdrawn");
            }
            logger.LogDebug("Config reload ({Reason}): the files are as last applied; nothing to do", reason);
            return (0, "unchanged: the files are as last applied");
        }
        if (ConfigHolder.NeedsRestart(running, next) is { } restart)
        {
            RefuseOnce(restart, reason);
            return (1, $"refused: {restart}");
        }
        _lastError = null;

        var before = seats.Plan.LoggedUsers.ToHashSet(StringComparer.Ordinal);
        var after = seats.Preview(next).LoggedUsers.ToHashSet(StringComparer.Ordinal);
        var wasHolding = _guard.Holding;
        var decision = _guard.Decide(before, after, fingerprint, settings.ConfirmDropsAfter, confirm);
        switch (decision.Verdict)
        {
            case ReloadVerdict.Hold:
                return Hold(running, decision, reason);
            case ReloadVerdict.StillHeld:
                logger.LogDebug("Config reload ({Reason}): the held drop of {Count} user(s) is unchanged and not yet confirmed", reason, decision.Dropped.Count);
                return (3, HeldText(running, decision));
        }
        if (wasHolding != null && decision.Verdict == ReloadVerdict.Apply)
            logger.LogInformation("Config reload ({Reason}): the held drop of {Count} logged user(s) is withdrawn: the files no longer drop them", reason, wasHolding.Count);
        return Apply(next, fingerprint, before, after, decision, reason);
    }

    private (int, string) Apply(ImLoggerConfig next, string fingerprint, HashSet<string> before, HashSet<string> after, ReloadDecision decision, string reason)
    {
        _recheck?.Cancel();
        if (ApplyEndpoints(next, reason) is { } refused) return (1, refused);
        holder.Replace(next);
        _appliedFingerprint = fingerprint;
        var plan = seats.Plan;
        var added = Names(after.Except(before));
        var removed = before.Except(after).ToList();
        string text;
        var serverSide = ServerSideText();
        if (removed.Count == 0)
        {
            logger.LogInformation("Config reloaded ({Reason}): {Users} logged user(s) in {Orgs} organization(s); configured to log: {Added}; no longer logged: nobody; {ServerSide}",
                reason, after.Count, next.Organizations.Count, added, serverSide);
            text = $"applied: {after.Count} logged user(s); configured to log: {added}; no longer logged: nobody; {serverSide}";
        }
        else
        {
            // Stopping logging someone is a compliance event, never routine: a warning, naming them.
            var confirmed = decision.Why.Length > 0 ? $" ({decision.Why})" : "";
            logger.LogWarning("Config reloaded ({Reason}){Confirmed}: {Users} logged user(s) in {Orgs} organization(s); NO LONGER LOGGED: {Removed}: " +
                              "their stanzas are neither archived nor held from now on; configured to log: {Added}; {ServerSide}",
                reason, confirmed, after.Count, next.Organizations.Count, Names(removed), added, serverSide);
            text = $"applied{confirmed}: {after.Count} logged user(s); NO LONGER LOGGED: {Names(removed)}; configured to log: {added}; {serverSide}";
        }
        foreach (var warning in plan.OverLimitWarnings()) logger.LogWarning("Seats: {Warning}", warning);
        foreach (var warning in TapLimitations.Warnings(next)) logger.LogWarning("Tap mode: {Warning}", warning);
        WriteRules(next, reason: "reload");
        _ = announcer.AnnounceAsync("reload");
        return (0, text + _endpointsText);
    }

    private (int, string) Hold(ImLoggerConfig running, ReloadDecision decision, string reason)
    {
        var text = HeldText(running, decision);
        logger.LogWarning("Config reload ({Reason}) HELD, the running config stays in force (in ImLogger and in the server rules): {Held}", reason, text);
        _recheck?.Cancel();
        if (decision.ConfirmsAt is { } at)
        {
            // Seen again then: if the files are still identical, the drop is deliberate and is applied.
            var cancel = _recheck = new CancellationTokenSource();
            var wait = at - time.GetUtcNow();
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(wait, time, cancel.Token);
                    _triggers.Writer.TryWrite(new Request("confirmation period over"));
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
        return (3, text);
    }

    /// <summary>Who a held drop would stop logging, where they are listed, and how to confirm it.</summary>
    private static string HeldText(ImLoggerConfig running, ReloadDecision decision)
    {
        var sources = running.Organizations.SelectMany(o => o.Users).ToDictionary(u => u.Jid, u => u.Source, StringComparer.Ordinal);
        var named = decision.Dropped.Take(50).Select(j => sources.TryGetValue(j, out var s) ? $"{j} ({s})" : $"{j} (logged by default)").ToList();
        var more = decision.Dropped.Count > named.Count ? $" and {decision.Dropped.Count - named.Count} more" : "";
        var how = decision.ConfirmsAt is { } at
            ? $"If this is deliberate, run `imlogger reload --confirm --config {running.SourcePath}`, or leave the files as they are: " +
              $"if still identical at {at:yyyy-MM-dd HH:mm:ss} UTC ({running.Reload.ConfirmDropsAfter!.Value.TotalSeconds:0}s after first seen), the change is applied"
            : $"If this is deliberate, run `imlogger reload --confirm --config {running.SourcePath}` (confirm-drops-after=\"never\": nothing applies it by itself)";
        return $"the files would stop logging {decision.Dropped.Count} of the {decision.Before} logged user(s): {string.Join(", ", named)}{more}. " +
               $"A list being rewritten (export > users.csv truncates it first) looks like this for a moment; until confirmed, they stay logged. {how}";
    }
}

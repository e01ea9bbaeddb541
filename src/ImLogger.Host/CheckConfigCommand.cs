using ImLogger.Config;

namespace ImLogger.Host;

/// <summary>
/// <c>imlogger check-config</c>: the loader has already checked the file against the schema, resolved every
/// group, CSV and endpoint (it throws on any error, and the program exits 1); this prints what an admin
/// needs to see: organizations, seats, who is logged where, who is not and why, endpoints, notification texts.
/// </summary>
internal static class CheckConfigCommand
{
    /// <param name="strict">--strict: a warning (users over the seat limit, a restriction tap cannot enforce, an
    /// exclusion matching nobody) fails the check with exit code 1, for automation that must not deploy such a config.</param>
    public static int Run(ImLoggerConfig config, bool strict = false)
    {
        Console.WriteLine($"{config.SourcePath}: OK");
        Console.WriteLine($"  component   {config.Component}");
        Console.WriteLine($"  attach      {config.Attach.Mode.ToString().ToLowerInvariant()}" +
                          (config.Attach.Mode == AttachMode.Inline ? $", fail-{config.Attach.FailureMode.ToString().ToLowerInvariant()}, timeout {DurationText.Format(config.Attach.Timeout)}" : "") +
                          (config.Attach.RulesOut is { } rules ? $"; server rules written to {rules} at start and on reload" : ""));
        Console.WriteLine($"  spool       {config.SpoolPath}");
        Console.WriteLine($"  transcripts close after {DurationText.Format(config.IdleClose)} idle");
        Console.WriteLine($"  services    telephony gateways: {Listed(config.Services.TelephonyGateways, "sip., tel., phone., pstn., voip., gateway. domains")}; " +
                          $"meeting services: {Listed(config.Services.MeetingServices, "meet., meeting., meetings., jitsi., conference-call. domains")} (E.164 numbers are always phones)");
        foreach (var org in config.Organizations)
        {
            Console.WriteLine();
            Console.WriteLine($"  organization {org.Label}: " +
                              $"{org.Users.Count} of {org.Seats} seat(s) used by listed users, default endpoint '{org.DefaultEndpoint}'");
            if (org.LoggedByDefault)
                Console.WriteLine($"    logged by default: every user of {string.Join(", ", org.Domains)} but the excluded; the listed users hold seats first, " +
                                  $"then the other {org.Seats - org.Users.Count} seat(s) go to users in the order ImLogger first sees them send " +
                                  "(kept in the spool; `imlogger report` names who holds them and who is over the limit)");
            var n = org.Notifications;
            Console.WriteLine($"    notices     inside the organization {(n.NotifyInside ? "on" : "OFF")}, outside {(n.NotifyOutside ? "on" : "OFF")}; " +
                              (n.Text == NotificationSettings.DefaultText ? "default text" : "custom text") + $": \"{n.Text}\"");
            Console.WriteLine($"    clients     {(org.ApprovedClients == null ? "any (no <approved-clients>)" : string.Join("; ", org.ApprovedClients))}");
            Console.WriteLine($"    logged ({org.Users.Count}):");
            foreach (var u in org.Users) Console.WriteLine($"      {u.Jid} -> {u.Endpoint ?? org.DefaultEndpoint}  ({u.Source})");
            if (org.OverLimit.Count > 0)
            {
                Console.WriteLine($"    OVER THE SEAT LIMIT, NOT LOGGED ({org.OverLimit.Count}):");
                foreach (var u in org.OverLimit) Console.WriteLine($"      {u.Jid}  ({u.Source})");
            }
            if (org.Excluded.Count > 0)
            {
                Console.WriteLine($"    excluded, not logged ({org.Excluded.Count}):");
                foreach (var u in org.Excluded) Console.WriteLine($"      {u.Jid}  ({u.Source})");
            }
            var unlisted = org.LoggedByDefault ? org.Exclusions.Except(org.Excluded.Select(u => u.Jid)).Order(StringComparer.Ordinal).ToList() : [];
            if (unlisted.Count > 0)
                Console.WriteLine($"    excluded from logging by default ({unlisted.Count}): {string.Join(", ", unlisted)}");
            if (org.UnmatchedExclusions.Count > 0)
                Console.WriteLine($"    note: <exclude> matching no listed user (check the spelling): {string.Join(", ", org.UnmatchedExclusions)}");
        }
        Console.WriteLine();
        foreach (var e in config.Endpoints)
            Console.WriteLine($"  endpoint {e.Name}: {ImLogger.Sinks.EndpointSinks.Describe(e)}" +
                              (e.MaxAttempts is { } max ? $", dead letter after {max} attempts" : $", failures retried for {DurationText.Format(config.RetryFor)}") +
                              $"; {config.LoggedUsers.Values.Count(v => v == e.Name)} listed logged user(s)" +
                              (config.Organizations.Where(o => o.LoggedByDefault && o.DefaultEndpoint == e.Name).Select(o => o.Name).ToList() is { Count: > 0 } byDefault
                                  ? $", and the users logged by default of {string.Join(", ", byDefault)}" : ""));
        if (config.SpoolKeyFile is not null) Console.WriteLine($"  spool encrypted at rest (AES-GCM, record by record), key from {config.SpoolKeyFile}");
        var warnings = 0;
        foreach (var warning in SeatReport.OverLimitWarnings(config))
        {
            Console.Error.WriteLine($"imlogger: warning: {warning}");
            warnings++;
        }
        foreach (var warning in TapLimitations.Warnings(config))
        {
            Console.Error.WriteLine($"imlogger: WARNING: {warning}");
            warnings++;
        }
        // A cost, not a risk: said, but not counted against --strict.
        if (SpoolPlacement.Note(config) is { } placement) Console.Error.WriteLine($"imlogger: note: {placement}");
        warnings += config.Organizations.Count(o => o.UnmatchedExclusions.Count > 0);
        if (strict && warnings > 0)
        {
            Console.Error.WriteLine($"imlogger: check-config --strict: {warnings} warning(s) above (and notes in the summary): the config is not accepted; " +
                                    "fix them, or run without --strict to accept it as it is");
            return 1;
        }
        return 0;
    }

    private static string Listed(IReadOnlyCollection<string>? domains, string defaultRule) =>
        domains == null ? $"default rule ({defaultRule})" : string.Join(", ", domains);
}

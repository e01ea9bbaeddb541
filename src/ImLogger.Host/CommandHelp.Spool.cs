namespace ImLogger.Host;

internal static partial class CommandHelp
{
    private const string SpoolExitCodes = "exit codes: 0 done; 1 not found or the spool cannot be read; 64 bad command line";

    /// <summary>One usage text per spool subcommand (<c>imlogger spool retry --help</c>).</summary>
    private static readonly Dictionary<string, string> SpoolTexts = new(StringComparer.Ordinal)
    {
        ["spool status"] = Spool("status", "Pending and dead transcripts per endpoint, the oldest one's age, its next attempt and last error; " +
                                           "quarantined records (written by a version this one cannot read)."),
        ["spool retry"] = Spool("retry [NAME]", "After fixing endpoint NAME (or every endpoint): its dead letters go back to pending, and its " +
                                                "waiting deliveries are tried now instead of at their scheduled slot (retries back off to 10 " +
                                                "minutes). Prints what it did per endpoint. With the service running it delivers at once; if " +
                                                "the endpoint fails again the rest wait for their slots. With the service stopped, " +
                                                "they are made due now in the spool file, and `imlogger run` tries them first as soon as it starts.",
            "exit codes: 0 done; 1 the spool cannot be read; 64 bad command line or no such endpoint"),
        ["spool show"] = Spool("show ID", "One transcript's deliveries (state, attempts, next attempt, last error) and its events."),
        ["spool rooms"] = Spool("rooms", "Group chats logged users may not join: listed in the config, and learned to be end-to-end encrypted."),
        ["spool forget-room"] = Spool("forget-room JID", "Forgets a room learned to be encrypted: logged users may join it again (it is learned " +
                                                         "again if encrypted traffic is seen in it)."),
        ["spool release-seat"] = Spool("release-seat JID", "Frees the seat of a user seen at run time (logged by default); users listed in " +
                                                           "the config keep theirs."),
        ["spool release-quarantined"] = Spool("release-quarantined [ID]", "Puts quarantined transcripts (records this version could not " +
                                                                          "read, listed by `spool status`) back to delivery once they read (after an upgrade)."),
        ["spool salvage"] = $"""
            usage: imlogger spool salvage --to NEWFILE [--config FILE]

            Copies every readable record of a damaged spool into NEWFILE and counts what was lost; the damaged spool is not
            changed. Run it with the service stopped, then move NEWFILE into the spool's place.

            options:
            {ConfigOption}
              --to NEWFILE       the new spool file

            exit codes: 0 everything copied; 1 nothing read; 4 some records lost; 64 bad command line
            """,
    };

    private static string Spool(string words, string what, string exitCodes = SpoolExitCodes) => $"""
        usage: imlogger spool {words} [--config FILE]

        {Wrap(what)}

        options:
        {ConfigOption}

        {SocketNote}

        {exitCodes}
        """;

    /// <summary>Breaks a paragraph at word boundaries into lines of at most 116 characters (the help's width).</summary>
    private static string Wrap(string text)
    {
        var lines = new List<string>();
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > 116)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        lines.Add(line.ToString());
        return string.Join('\n', lines);
    }

    /// <summary>The spool subcommands' texts, for the man page.</summary>
    public static IEnumerable<(string Command, string Text)> SpoolSubcommands => SpoolTexts.Select(kv => (kv.Key, kv.Value));
}

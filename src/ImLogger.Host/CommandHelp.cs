using System.Reflection;

namespace ImLogger.Host;

/// <summary>
/// <c>imlogger --version</c>, <c>imlogger help [COMMAND]</c> and <c>imlogger COMMAND --help</c>: one usage text per
/// command with its options and exit codes, so an operator never has to read the whole list to run one command.
/// </summary>
internal static partial class CommandHelp
{
    /// <summary>The config read when <c>--config</c> is not given (the packaged install's place for it).</summary>
    public const string DefaultConfig = "/etc/imlogger/imlogger.xml";

    private const string ConfigOption = $"""
          --config FILE      the ImLogger XML config (default: {DefaultConfig}, when it exists)
        """;

    private const string SocketNote = """
        Answered by the running `imlogger run` through the control socket (the spool path with `.sock` appended, for the
        service's own user and root); when the service is stopped, the command reads the spool file itself. Needs no
        secret: the component secret and SMTP passwords are not read.
        """;

    private static readonly Dictionary<string, string> Texts = new(StringComparer.Ordinal)
    {
        ["run"] = $"""
            usage: imlogger run [--config FILE] [--log-config FILE] [--accept-new-spool]

            Runs the component. Ctrl-C or SIGTERM stops it, flushing open transcripts; SIGHUP or saving the config
            reloads it (docs/admin-guide.md).

            options:
            {ConfigOption}
              --log-config FILE  NLog config (default: nlog.config next to the program)
              --accept-new-spool start although the spool is not the one its marker (the spool path + .identity) names
                                 (missing, empty, replaced, older); what the old spool held is not there

            exit codes: 0 stopped normally; 1 the config is wrong or the spool cannot be opened; 2 the server refused the
            component (wrong secret, unknown component domain); 3 the spool was deleted, replaced or damaged while
            running; 64 bad command line; 70 an internal loop failed (systemd starts it again). A server that is down
            and a port that is Prosody's c2s or s2s port are retried (the latter logged at ERROR each time).
            """,
        ["server-config"] = $"""
            usage: imlogger server-config [--config FILE] [--out DIR]   (prosody-config is the same command)

            Prints (or, with --out, writes to DIR) what the server of <attach server="prosody|ejabberd"> needs. Prosody:
            the Component, and the inline module or the tap rules. ejabberd: imlogger.yml (the component's listen entry
            and mod_imlogger_inline's options per host, for include_config_file) and the module's source with build.sh.
            Files rewritten in DIR keep their owner, group and mode. A new Component needs a server restart
            (`prosodyctl reload` does not open its port).

            options:
            {ConfigOption}
              --out DIR          write the snippet and module files into DIR instead of printing them

            exit codes: 0 done; 1 the config is wrong or DIR cannot be written; 64 bad command line
            """,
        ["check-config"] = $"""
            usage: imlogger check-config [--strict] [--config FILE]

            Checks the config and prints a summary (users, endpoints, notice). Needs the component secret.

            options:
            {ConfigOption}
              --strict           warnings fail the check too: users over the seat limit (not logged), restrictions that
                                 tap mode cannot enforce, exclusions that match nobody

            exit codes: 0 valid (without --strict, also with warnings); 1 not valid (the error names the file, line and
            what to change) or, with --strict, warned; 64 bad command line
            """,
        ["report"] = $"""
            usage: imlogger report [--org DOMAIN] [--since YYYY-MM-DD] [--config FILE]

            Coverage: per configured user, logging active or why not, events captured and refused, last activity,
            endpoint and its backlog.

            options:
            {ConfigOption}
              --org DOMAIN       only this organization (by name or domain)
              --since DAY        count activity from this UTC day on (YYYY-MM-DD)

            {SocketNote}

            exit codes: 0 printed; 1 the config or spool cannot be read; 64 bad command line
            """,
        ["check-server"] = $"""
            usage: imlogger check-server [--config FILE]

            For monitoring: is the server side (mod_imlogger_inline or the tap rules) loaded and current on every domain?
            A problem line names a domain that is silent, or whose server side holds a stale user list (another config's
            generation), and what to run. Without a running service, also says what the component port answers
            (Include missing, wrong port, nothing listening).

            options:
            {ConfigOption}

            exit codes: 0 yes; 1 one line per problem; 2 `imlogger run` is not running; 64 bad command line
            """,
        ["reload"] = $"""
            usage: imlogger reload [--confirm] [--config FILE]

            Reloads the running service now (as SIGHUP does) and prints the outcome.

            options:
            {ConfigOption}
              --confirm          apply a reload held because it would drop most logged users

            exit codes: 0 applied; 1 refused or held (the reason is printed); 2 `imlogger run` is not running;
            64 bad command line
            """,
        ["test-endpoint"] = $"""
            usage: imlogger test-endpoint NAME [--send-probe] [--config FILE]

            Connects to endpoint NAME: TLS, authentication (and a marked probe message); prints each step.

            options:
            {ConfigOption}
              --send-probe       also send a message marked as a probe (not a transcript)

            exit codes: 0 every step worked; 1 one failed; 64 bad command line or unknown endpoint
            """,
        ["spool"] = $"""
            usage: imlogger spool SUBCOMMAND [--config FILE]

              spool status                    pending and dead transcripts per endpoint, oldest age
              spool retry [NAME]              after fixing endpoint NAME (or all): dead letters back to pending, waiting
                                              deliveries tried now rather than at their scheduled slot
              spool show ID                   one transcript's deliveries, errors and events
              spool rooms                     group chats logged users may not join (listed, and learned encrypted)
              spool forget-room JID           forget a room learned to be encrypted (logged users may join it again)
              spool release-seat JID          free the seat of a user seen at run time (logged by default)
              spool release-quarantined [ID]  quarantined transcripts back to delivery once they read (after an upgrade)
              spool salvage --to NEWFILE      copy every readable record of a damaged spool into NEWFILE, count the loss
                                              (the damaged spool is not changed)

            options:
            {ConfigOption}
              --to NEWFILE       salvage: the new spool file

            {SocketNote}

            `imlogger spool SUBCOMMAND --help`: one subcommand's usage.

            exit codes: 0 done; 1 not found or the spool cannot be read (salvage: nothing read); 4 salvage lost
            records; 64 bad command line
            """,
        ["completion"] = """
            usage: imlogger completion bash

            Prints the bash completion script: commands, subcommands and options complete with Tab (file names after
            --config and the other options taking a file). The Debian package installs it as
            /usr/share/bash-completion/completions/imlogger; elsewhere:
              imlogger completion bash | sudo tee /usr/share/bash-completion/completions/imlogger
            It asks the program itself (System.CommandLine's [suggest] directive), so it never lags behind a new option.

            exit codes: 0 printed; 64 bad command line (bash is the one shell supported)
            """,
    };

    /// <summary>The commands, in the order the overview lists them.</summary>
    public static IEnumerable<string> Commands => Texts.Keys;

    /// <summary>The usage text of <paramref name="command"/> ("spool retry" for a subcommand), or null for a command that
    /// does not exist.</summary>
    public static string? For(string command) =>
        Texts.GetValueOrDefault(command == "prosody-config" ? "server-config" : command) ?? SpoolTexts.GetValueOrDefault(command);

    /// <summary>What <c>imlogger --version</c> prints: the informational version (with its source revision, if built
    /// from git).</summary>
    public static string Version =>
        "imlogger " + (typeof(CommandHelp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                       ?? typeof(CommandHelp).Assembly.GetName().Version?.ToString() ?? "unknown");

    /// <summary>The line that follows a command-line mistake: where to read what is right.</summary>
    public static string Hint(string? command) =>
        command is not null && For(command) is not null
            ? $"run `imlogger {command} --help` for its options"
            : $"run `imlogger help` for the commands ({string.Join(", ", Texts.Keys)})";
}

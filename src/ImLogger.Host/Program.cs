using ImLogger.Config;

namespace ImLogger.Host;

/// <summary>The <c>imlogger</c> command.</summary>
internal static class Program
{
    private const string Usage = """
        ImLogger: compliance logging for XMPP, as an external component (XEP-0114).

        usage:
          imlogger run --config FILE              run the component (Ctrl-C or SIGTERM stops it, flushing open transcripts;
                                                  SIGHUP or saving the config reloads it, see docs/admin-guide.md)
          imlogger server-config --config FILE [--out DIR]
                                                  print (or write to DIR) what to add to the XMPP server (<attach server>:
                                                  Prosody or ejabberd); prosody-config is the same command
          imlogger check-config [--strict] --config FILE
                                                  check the config and print a summary; exit code 0 if valid, 1 if not
                                                  (--strict: also 1 when it warns, e.g. users over the seat limit)
          imlogger report [--org NAME|DOMAIN] [--since YYYY-MM-DD] --config FILE
                                                  coverage: per configured user, logging active or why not, events captured
                                                  and refused, last activity, endpoint and its backlog
          imlogger check-server --config FILE     for monitoring: is the server side (mod_imlogger_inline or the tap rules)
                                                  loaded and current on every domain? exit 0 yes; 1 one line per problem;
                                                  2 imlogger run is not running
          imlogger reload [--confirm] --config FILE
                                                  reload the running service now (as SIGHUP) and print the outcome; --confirm
                                                  applies a reload held because it would drop most logged users
          imlogger test-endpoint NAME --config FILE [--send-probe]
                                                  connect, TLS, authenticate (and send a marked probe message); prints each step
          imlogger spool status --config FILE     pending and dead transcripts per endpoint, oldest age
          imlogger spool retry [NAME] --config FILE
                                                  after fixing an endpoint (NAME, or all): dead letters back to pending,
                                                  waiting deliveries tried now rather than at their scheduled slot
          imlogger spool show ID --config FILE    one transcript's deliveries, errors and events
          imlogger spool rooms --config FILE      group chats logged users may not join (listed, and learned encrypted)
          imlogger spool forget-room JID --config FILE
                                                  forget a room learned to be encrypted (logged users may join it again)
          imlogger spool release-seat JID --config FILE
                                                  free the seat of a user seen at run time (logged by default)
          imlogger spool release-quarantined [ID] --config FILE
                                                  put quarantined transcripts (records this version could not read, listed
                                                  by `spool status`) back to delivery once they read (after an upgrade)
          imlogger spool salvage --to NEWFILE --config FILE
                                                  copy every readable record of a damaged spool into NEWFILE, count what
                                                  was lost (the damaged spool is not changed); exit 0, 4 some lost, 1 none read

          imlogger help [COMMAND [SUBCOMMAND]], imlogger COMMAND [SUBCOMMAND] --help
                                                  one command's usage, options and exit codes
          imlogger help --man                     all of it as a man page
          imlogger completion bash                the bash tab completion script (the package installs it)
          imlogger --version                      the version

        options:
          --config FILE      the ImLogger XML config (see config/imlogger.xml); default /etc/imlogger/imlogger.xml
                             when it exists
          --log-config FILE  NLog config (default: nlog.config next to the program)
          --send-probe       test-endpoint: also send a message marked as a probe (not a transcript)
          --confirm          reload: apply the files as they are even if they stop logging most users
          --accept-new-spool run: start although the spool is not the one its marker (the spool path + .identity) names
                             (missing, empty, replaced, older); what the old spool held is not there

        The spool, report and check-server commands are answered by the running `imlogger run` (through the control
        socket, the spool path with .sock appended, for its own user and root) or, when it is stopped, read the spool
        file themselves.
        """;

    private static async Task<int> Main(string[] args)
    {
        ProcessUmask.RestrictToOwner(); // before any file is created: spool, logs, .eml files are owner-only
        if (args.Length == 0)
        {
            Console.WriteLine(Usage);
            return 64;
        }
        if (ImLoggerCommandLine.Suggest(args) is { } suggested) return suggested; // the shell's tab completion
        ImLoggerCommandLine.Request request;
        try
        {
            request = ImLoggerCommandLine.Parse(args);
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync(e.Command is null
                ? $"imlogger: {e.Message}; {CommandHelp.Hint(null)}"
                : $"imlogger {e.Command}: {e.Message}; {CommandHelp.Hint(e.Command)}");
            return 64;
        }
        if (request.Version)
        {
            Console.WriteLine(CommandHelp.Version);
            return 0;
        }
        if (request.HelpFor is { } helpFor) return Help(helpFor.Length == 0 ? null : helpFor);
        var parsed = request.Arguments;
        switch (request.Command)
        {
            case "help" when parsed.Man:
                Console.Write(CommandHelp.ManPage(Usage));
                return 0;
            case "help":
                return Help(parsed.Positional.Count > 0 ? string.Join(' ', parsed.Positional) : null);
            case "completion":
                Console.Write(CommandHelp.BashCompletion);
                return 0;
        }
        if (parsed.Config is null && !File.Exists(CommandHelp.DefaultConfig))
        {
            // A usage error (64), not a config error: nothing was read yet.
            await Console.Error.WriteLineAsync($"imlogger {request.Command}: no --config given and the default config {CommandHelp.DefaultConfig} does not " +
                                               $"exist; pass --config FILE (for example config/imlogger.xml) or put the config there");
            return 64;
        }

        try
        {
            return request.Command switch
            {
                "run" => await RunCommand.RunAsync(LoadConfig(parsed), parsed),
                "server-config" => ProsodyConfigCommand.Run(LoadConfig(parsed), parsed),
                "check-config" => CheckConfigCommand.Run(LoadConfig(parsed), parsed.Strict),
                "spool" when parsed.Positional is ["salvage", ..] => SpoolSalvageCommand.Run(LoadConfigWithoutSecrets(parsed), parsed, Terminal.Console),
                "report" or "spool" or "check-server" or "reload" => await ControlSocket.RunCommandAsync(LoadConfigWithoutSecrets(parsed), args, parsed),
                "test-endpoint" => await TestEndpointCommand.RunAsync(LoadConfig(parsed), parsed),
                _ => Unknown(request.Command),
            };
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync($"imlogger: config error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Never a bare stack trace and exit code 0 or 134: say what failed, and exit with ServiceFaults.ExitCode. The
            // innermost cause, not a wrapper's "see inner exception".
            var cause = e.GetBaseException();
            await Console.Error.WriteLineAsync($"imlogger {request.Command}: unexpected error ({cause.GetType().Name}: {cause.Message}). Run it again; " +
                                               "if it repeats, report it with this line (and, for `run`, the log above it).");
            return ServiceFaults.ExitCode;
        }
    }

    private static ImLoggerConfig LoadConfig(Arguments args) => ConfigLoader.Load(ConfigPath(args));

    // The commands the running service answers: an admin's shell or a monitoring user has no access to its secrets.
    private static ImLoggerConfig LoadConfigWithoutSecrets(Arguments args) => ConfigLoader.LoadWithoutSecrets(ConfigPath(args));

    /// <summary><c>--config</c>, else <see cref="CommandHelp.DefaultConfig"/> (Main has checked that it exists).</summary>
    private static string ConfigPath(Arguments args) => args.Config ?? CommandHelp.DefaultConfig;

    private static int Help(string? command)
    {
        if (command is null)
        {
            Console.WriteLine(Usage);
            return 0;
        }
        if (CommandHelp.For(command) is not { } text) return Unknown(command);
        Console.WriteLine(text);
        return 0;
    }

    private static int Unknown(string command)
    {
        Console.Error.WriteLine(command.StartsWith('-')
            ? $"imlogger: '{command}' is an option, not a command; options follow the command; {CommandHelp.Hint(null)}"
            : $"imlogger: unknown command '{command}'; {CommandHelp.Hint(null)}");
        return 64;
    }
}

/// <summary>Command-line options shared by the commands (parsed by <see cref="ImLoggerCommandLine"/>).</summary>
internal sealed record Arguments(string? Config, string? LogConfig, string? Out)
{
    /// <summary>Words that are not options (test-endpoint NAME; spool status|retry [NAME]|show ID).</summary>
    public IReadOnlyList<string> Positional { get; init; } = [];

    /// <summary>test-endpoint: send a probe message too.</summary>
    public bool SendProbe { get; init; }

    /// <summary>reload: apply a held sudden drop.</summary>
    public bool Confirm { get; init; }

    /// <summary>report: only this organization (domain).</summary>
    public string? Org { get; init; }

    /// <summary>report: count activity from this UTC day on (YYYY-MM-DD).</summary>
    public string? Since { get; init; }

    /// <summary>run: start although the spool is not the one its identity marker names.</summary>
    public bool AcceptNewSpool { get; init; }

    /// <summary>check-config: warnings fail the check.</summary>
    public bool Strict { get; init; }

    /// <summary>spool salvage: the new spool file.</summary>
    public string? To { get; init; }

    /// <summary>help: the man page instead of the text.</summary>
    public bool Man { get; init; }
}

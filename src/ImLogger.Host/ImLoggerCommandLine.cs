using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace ImLogger.Host;

/// <summary>A mistake on the command line (exit code 64): what is wrong, and the command it was meant for.</summary>
internal sealed class UsageException(string? command, string message) : ArgumentException(message)
{
    /// <summary>The command the words were for (its help is the hint), or null at the top level.</summary>
    public string? Command { get; } = command;
}

/// <summary>
/// The <c>imlogger</c> command line as System.CommandLine parses it: every command, subcommand, option and argument, so
/// that mistakes are caught the same way everywhere (here and in the running service's control socket) and the shell's tab
/// completion (<c>imlogger completion bash</c>, through the <c>[suggest]</c> directive) knows them all.
/// </summary>
/// <remarks>Help stays ImLogger's own text (<see cref="CommandHelp"/>: usage, options and exit codes per command, also the man
/// page), and the problems are worded as ImLogger words them: System.CommandLine parses, ImLogger speaks.</remarks>
internal static class ImLoggerCommandLine
{
    private static readonly Option<string> Config = new("--config") { HelpName = "FILE", Description = $"the ImLogger XML config (default {CommandHelp.DefaultConfig})" };
    private static readonly Option<string> LogConfig = new("--log-config") { HelpName = "FILE", Description = "NLog config" };
    private static readonly Option<string> Out = new("--out") { HelpName = "DIR", Description = "write the files into DIR" };
    private static readonly Option<bool> SendProbe = new("--send-probe") { Description = "also send a marked probe message" };
    private static readonly Option<bool> Confirm = new("--confirm") { Description = "apply a held reload" };
    private static readonly Option<string> Org = new("--org") { HelpName = "DOMAIN", Description = "only this organization" };
    private static readonly Option<string> Since = new("--since") { HelpName = "YYYY-MM-DD", Description = "count activity from this UTC day on" };
    private static readonly Option<bool> AcceptNewSpool = new("--accept-new-spool") { Description = "start on a spool its marker does not name" };
    private static readonly Option<bool> Strict = new("--strict") { Description = "warnings fail the check" };
    private static readonly Option<string> To = new("--to") { HelpName = "NEWFILE", Description = "salvage: the new spool file" };
    private static readonly Option<bool> Man = new("--man") { Description = "the help as a man page" };

    /// <summary>The spool's subcommands: name, argument (null: none) and whether the argument may be left out.</summary>
    private static readonly (string Name, string? Argument, bool Optional)[] SpoolWords =
    [
        ("status", null, false), ("retry", "NAME", true), ("show", "ID", false), ("rooms", null, false), ("forget-room", "JID", false),
        ("release-seat", "JID", false), ("release-quarantined", "ID", true), ("salvage", null, false),
    ];

    /// <summary>The parser (built once: the symbols are shared by every parse).</summary>
    public static RootCommand Root { get; } = Build();

    private static RootCommand Build()
    {
        var root = new RootCommand("ImLogger: compliance logging for XMPP, as an external component (XEP-0114).");
        root.Subcommands.Add(Leaf("run", LogConfig, AcceptNewSpool));
        var serverConfig = Leaf("server-config", Out);
        serverConfig.Aliases.Add("prosody-config");
        root.Subcommands.Add(serverConfig);
        root.Subcommands.Add(Leaf("check-config", Strict));
        root.Subcommands.Add(Leaf("report", Org, Since));
        root.Subcommands.Add(Leaf("check-server"));
        root.Subcommands.Add(Leaf("reload", Confirm));
        var testEndpoint = Leaf("test-endpoint", SendProbe);
        testEndpoint.Arguments.Add(new Argument<string>("NAME") { Description = "the endpoint's name in the config" });
        root.Subcommands.Add(testEndpoint);
        // --config also before the subcommand (`spool --config FILE status`), so that a missing subcommand is said as such.
        var spool = new Command("spool", "what waits in the spool, and what to do with it") { Config };
        foreach (var (name, argument, optional) in SpoolWords)
        {
            var sub = Leaf(name, name == "salvage" ? [To] : []);
            if (argument is not null)
                sub.Arguments.Add(new Argument<string>(argument) { Arity = optional ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne });
            spool.Subcommands.Add(sub);
        }
        root.Subcommands.Add(spool);
        var help = new Command("help", "one command's usage, options and exit codes") { Man };
        help.Arguments.Add(new Argument<string[]>("COMMAND") { Arity = ArgumentArity.ZeroOrMore });
        root.Subcommands.Add(help);
        var completion = new Command("completion", "the shell's tab completion script");
        completion.Arguments.Add(new Argument<string>("SHELL").AcceptOnlyFromAmong("bash"));
        root.Subcommands.Add(completion);
        root.Subcommands.Add(new Command("version", "the version") { Hidden = true });
        return root;
    }

    /// <summary>A command that reads the config: --config and its own options.</summary>
    private static Command Leaf(string name, params Option[] options)
    {
        var command = new Command(name) { Config };
        foreach (var option in options) command.Options.Add(option);
        return command;
    }

    /// <summary>What the command line asks for.</summary>
    /// <param name="Command">The command as <c>Program</c> and the control socket name it (<c>spool</c> for its
    /// subcommands, whose name is then the first positional word).</param>
    /// <param name="Arguments">Its options and words.</param>
    /// <param name="HelpFor">Not null when help was asked: the command path whose text to print ("" for the overview).</param>
    /// <param name="Version">--version was asked.</param>
    public sealed record Request(string Command, Arguments Arguments, string? HelpFor = null, bool Version = false);

    /// <summary>Parses a command line.</summary>
    /// <exception cref="UsageException">A mistake: unknown command or option, missing value or argument, extra words.</exception>
    public static Request Parse(IReadOnlyList<string> args)
    {
        if (args.Count > 0 && args[0].StartsWith('-') && args[0] is not ("-h" or "--help" or "-?" or "--version"))
            throw new UsageException(null, $"'{args[0]}' is an option, not a command; options follow the command");
        var result = Root.Parse(args.ToArray());
        var command = result.CommandResult.Command;
        var path = PathOf(command);
        var top = path.Split(' ')[0];
        if (result.GetResult(Root.Options.OfType<HelpOption>().Single()) is not null)
            return new Request(top, Empty, HelpFor: path);
        if (result.UnmatchedTokens.Count > 0)
        {
            var word = result.UnmatchedTokens[0];
            throw command is RootCommand
                ? new UsageException(null, $"unknown command '{word}'")
                : new UsageException(path, word.StartsWith('-') ? $"unknown option '{word}'" : $"unexpected argument '{word}'");
        }
        if (result.GetResult(Root.Options.OfType<VersionOption>().Single()) is not null || command.Name == "version")
            return new Request("version", Empty, Version: true);
        if (result.Errors.Count > 0) throw new UsageException(command is RootCommand ? null : path, Describe(result.Errors[0], command));
        return new Request(top, Bind(result, command));
    }

    private static readonly Arguments Empty = new(null, null, null);

    /// <summary>"spool retry" for a spool subcommand, else the command's name ("" for the root).</summary>
    private static string PathOf(Command command) =>
        command is RootCommand ? "" : command.Parents.OfType<Command>().FirstOrDefault() is { } parent and not RootCommand ? $"{parent.Name} {command.Name}" : command.Name;

    private static string Describe(ParseError error, Command command)
    {
        if (command.Subcommands.Count > 0 && command is not RootCommand)
            return $"say what to do: {string.Join(", ", command.Subcommands.Select(s => $"{command.Name} {s.Name}"))}";
        if (error.SymbolResult is OptionResult option)
            return option.Tokens.Count switch
            {
                0 => $"{option.Option.Name} needs a value",
                > 1 => $"{option.Option.Name} is given {option.Tokens.Count} times; give it once",
                _ => $"{option.Option.Name}: {error.Message.TrimEnd('.')}",
            };
        if (command.Name == "completion")
            return "bash is the one shell supported: `imlogger completion bash`";
        if (error.SymbolResult is ArgumentResult argument)
            return argument.Tokens.Count == 0 ? $"needs its {argument.Argument.Name} (`imlogger {PathOf(command)} {argument.Argument.Name}`)" : error.Message.TrimEnd('.');
        if (error.SymbolResult is CommandResult && command.Arguments.Count > 0)
            return $"needs its {command.Arguments[0].Name} (`imlogger {PathOf(command)} {command.Arguments[0].Name}`)";
        return error.Message.TrimEnd('.');
    }

    private static T? Value<T>(ParseResult result, Option<T> option) => result.GetResult(option) is { } found ? found.GetValueOrDefault<T>() : default;

    private static Arguments Bind(ParseResult result, Command command)
    {
        var words = new List<string>();
        if (command.Parents.OfType<Command>().Any(p => p.Name == "spool")) words.Add(command.Name);
        foreach (var argument in command.Arguments)
            if (result.GetResult(argument) is { } found)
                words.AddRange(found.Tokens.Select(t => t.Value));
        return new Arguments(Value(result, Config), Value(result, LogConfig), Value(result, Out))
        {
            Positional = words, SendProbe = Value(result, SendProbe), Confirm = Value(result, Confirm), Org = Value(result, Org), Since = Value(result, Since),
            AcceptNewSpool = Value(result, AcceptNewSpool), Strict = Value(result, Strict), To = Value(result, To), Man = Value(result, Man),
        };
    }

    /// <summary>The shell's completions for a command line (the <c>[suggest:POSITION]</c> directive), if this is one.</summary>
    public static int? Suggest(string[] args) =>
        args.Length > 0 && args[0].StartsWith("[suggest", StringComparison.Ordinal) ? Root.Parse(args).Invoke() : null;
}

using ImLogger.Config;

namespace ImLogger.Host;

/// <summary><c>imlogger check-config</c>: validates (the loader throws on any error) and summarises.</summary>
internal static class CheckConfigCommand
{
    public static int Run(ImLoggerConfig config)
    {
        Console.WriteLine($"{config.SourcePath}: OK");
        Console.WriteLine($"  component   {config.Component}");
        Console.WriteLine($"  spool       {config.SpoolPath}");
        Console.WriteLine($"  transcripts close after {config.IdleClose} idle");
        foreach (var org in config.Organizations)
        {
            Console.WriteLine($"  organization {org.Domain}: {org.Users.Count} logged user(s), default endpoint '{org.DefaultEndpoint}'");
            foreach (var u in org.Users) Console.WriteLine($"    {u.Jid} -> {u.Endpoint ?? org.DefaultEndpoint}");
        }
        foreach (var e in config.Endpoints)
            Console.WriteLine($"  endpoint {e.Name}: {ImLogger.Sinks.EndpointSinks.Describe(e)}" +
                              (e.MaxAttempts is { } max ? $", dead letter after {max} attempts" : ""));
        if (config.SpoolKeyFile is not null) Console.WriteLine($"  spool encrypted at rest, key from {config.SpoolKeyFile}");
        return 0;
    }
}

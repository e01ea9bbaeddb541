using ImLogger.Config;
using ImLogger.Sinks;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Host;

/// <summary><c>imlogger test-endpoint NAME [--send-probe]</c>: checks an endpoint step by step before it is trusted.</summary>
/// <remarks>Exit code 0 when every step worked, 1 when one failed (the line says what is wrong), 64 for a bad command line.</remarks>
internal static class TestEndpointCommand
{
    public static async Task<int> RunAsync(ImLoggerConfig config, Arguments args)
    {
        if (args.Positional.Count != 1)
        {
            await Console.Error.WriteLineAsync("imlogger: test-endpoint needs exactly one endpoint NAME; configured: " +
                string.Join(", ", config.Endpoints.Select(e => e.Name)));
            return 64;
        }
        var name = args.Positional[0];
        var endpoint = config.Endpoints.FirstOrDefault(e => e.Name == name);
        if (endpoint is null)
        {
            await Console.Error.WriteLineAsync($"imlogger: no endpoint '{name}' in {config.SourcePath}; configured: " +
                string.Join(", ", config.Endpoints.Select(e => e.Name)));
            return 64;
        }
        Console.WriteLine($"endpoint {name}: {EndpointSinks.Describe(endpoint)}");
        IReadOnlyList<EndpointCheckStep> steps = endpoint switch
        {
            DirectoryEndpointConfig d => CheckDirectory(d),
            SmtpEndpointConfig => await ((SmtpSink)EndpointSinks.Create(endpoint, NullLoggerFactory.Instance, $"imlogger@{config.Component.Jid}"))
                .CheckAsync(args.SendProbe, CancellationToken.None),
            _ => [new EndpointCheckStep("check", false, "this endpoint type has no check")],
        };
        foreach (var step in steps)
            Console.WriteLine($"  [{(step.Ok ? " OK " : "FAIL")}] {step.Step}: {step.Detail}");
        var ok = steps.All(s => s.Ok);
        Console.WriteLine(ok ? $"endpoint {name} is ready" : $"endpoint {name} is NOT ready: transcripts for it wait in the spool until this is fixed");
        return ok ? 0 : 1;
    }

    /// <summary>Creates the directory if needed and writes, syncs and removes a probe file in it (what a delivery needs).</summary>
    private static IReadOnlyList<EndpointCheckStep> CheckDirectory(DirectoryEndpointConfig d)
    {
        var probe = Path.Combine(d.Path, $".imlogger-probe-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(d.Path);
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: true);
            }
            File.Delete(probe);
            var free = new DriveInfo(d.Path).AvailableFreeSpace;
            return [new EndpointCheckStep($"write to {d.Path}", true, $"a file was written, synced and removed; {free / (1024 * 1024)} MiB free")];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [new EndpointCheckStep($"write to {d.Path}", false, $"{e.Message} (give the imlogger user write permission there)")];
        }
    }
}

using ImLogger.Config;
using ImLogger.Endpoints;
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
        IReadOnlyList<EndpointCheckStep> steps;
        try
        {
            // The endpoint's own type checks it, built-in or plug-in: no list of types here to keep in step.
            steps = await EndpointCatalog.Of(endpoint).CheckAsync(endpoint, new SinkContext(NullLoggerFactory.Instance, $"imlogger@{config.Component.Jid}"),
                args.SendProbe, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            steps = [new EndpointCheckStep("check", false, $"the endpoint type's check failed: {e.GetType().Name}: {e.Message}")];
        }
        foreach (var step in steps)
            Console.WriteLine($"  [{(step.Ok ? " OK " : "FAIL")}] {step.Step}: {step.Detail}");
        var ok = steps.All(s => s.Ok);
        Console.WriteLine(ok ? $"endpoint {name} is ready" : $"endpoint {name} is NOT ready: transcripts for it wait in the spool until this is fixed");
        return ok ? 0 : 1;
    }
}

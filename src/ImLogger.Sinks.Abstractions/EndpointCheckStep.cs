namespace ImLogger.Sinks;

/// <summary>One step of an endpoint check: what was tried, whether it worked, and details or what is wrong.</summary>
/// <param name="Step">"connect to host:port", "STARTTLS", "authenticate as 'user'", ...</param>
/// <param name="Ok">Whether it worked.</param>
/// <param name="Detail">What was seen, or what is wrong and what to do.</param>
public sealed record EndpointCheckStep(string Step, bool Ok, string Detail);

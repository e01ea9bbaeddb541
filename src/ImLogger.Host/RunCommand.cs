using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Continuity;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Envelope;
using ImLogger.Ingest;
using ImLogger.Inline;
using ImLogger.Liveness;
using ImLogger.Notifier;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Pipeline;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Xmpp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NLog.Extensions.Logging;

namespace ImLogger.Host;

/// <summary><c>imlogger run</c>: the component on the generic host, logging through NLog.</summary>
internal static class RunCommand
{
    public static async Task<int> RunAsync(ImLoggerConfig config, Arguments args)
    {
        StartupTimeline.Mark("runtime and config");
        _ = SpoolKey.Read(config); // a missing or short key file is a config error, reported before anything starts
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = false,
        });
        var logConfig = Path.GetFullPath(args.LogConfig ?? Path.Combine(AppContext.BaseDirectory, "nlog.config"));
        if (!File.Exists(logConfig))
        {
            await Console.Error.WriteLineAsync($"imlogger: the NLog config {logConfig} does not exist; pass --log-config FILE");
            return 1;
        }
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddNLog(logConfig);
        // The stop's budget: the tap drain (20 s at most), spooling what it read, one delivery pass (15 s); systemd allows 60 s.
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(55);
            // A loop that fails stops the service (with exit code 70, ServiceFaults) rather than leaving it up without it.
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        AddImLogger(builder.Services, config, args.AcceptNewSpool);
        if (Environment.GetEnvironmentVariable(FaultDrillService.Variable) == "1") builder.Services.AddHostedService<FaultDrillService>();

        var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILogger<ArchiveService>>();
        StartupTimeline.Mark("host built (logging, services)", logger);
        host.Services.GetRequiredService<ComponentConnection>().Connected += () => StartupTimeline.Connected(logger);
        int? faulted;
        try
        {
            // RunAsync without its dispose, so the services can still be asked how their loops ended (ServiceFaults).
            await host.StartAsync();
            await host.WaitForShutdownAsync();
            faulted = ServiceFaults.Report(host.Services, logger);
        }
        // SpoolUnavailableException is an IOException: the spool refusing at start is one of these.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            logger.LogCritical("ImLogger cannot start: {Reason}", e.Message);
            return 1;
        }
        finally
        {
            if (host is IAsyncDisposable asyncHost) await asyncHost.DisposeAsync();
            else host.Dispose();
            NLog.LogManager.Shutdown();
        }
        // A refused component (2) says more than the loop that failed with it.
        return Environment.ExitCode != 0 ? Environment.ExitCode : faulted ?? 0;
    }

    /// <summary>How long a graceful stop in tap mode keeps reading what the server still sends.</summary>
    internal static readonly TimeSpan TapDrainOnStop = TimeSpan.FromSeconds(20);

    /// <summary>Tap mode: a read that drained the socket waits this long before the next (ComponentConnectionOptions.ReadPause).
    /// At low rates the ingest loop stored a few copies per write, each write a transaction and an fsync (docs/performance.md,
    /// "ImLogger alone, paced").</summary>
    internal static readonly TimeSpan TapReadPause = TimeSpan.FromMilliseconds(50);

    /// <summary>Inline: after the last verdicts and the end tag, the requests the server still sends are read (and left
    /// for the next start, which the module sends them to) until it closes its side. Closing the socket with them unread
    /// would reset the connection, and Prosody would drop the verdicts it had not read yet: stored, yet sent again.</summary>
    internal static readonly TimeSpan InlineDrainOnStop = TimeSpan.FromSeconds(20);

    /// <summary>The pipeline's stages, one singleton each, wired as DESIGN.md draws them.</summary>
    internal static void AddImLogger(IServiceCollection services, ImLoggerConfig config, bool acceptNewSpool = false)
    {
        services.AddSingleton(config);
        // Who is logged and how is read per stanza from the holder, so a reload takes effect without a restart.
        var holder = new ConfigHolder(config);
        services.AddSingleton(holder);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new ComponentConnectionOptions
        {
            Host = config.Component.Host,
            Port = config.Component.Port,
            ComponentJid = config.Component.Jid,
            Secret = config.Component.Secret,
            MaxStanzaBytes = config.Component.MaxStanzaBytes,
            Standby = config.Failover?.Role == FailoverRole.Standby,
            StandbyRetry = config.Failover?.Retry ?? TimeSpan.FromSeconds(2),
            // Tap: copies the server routed before a stop are still on their way; never sent again, they are read before
            // closing (README, "What each mode guarantees"). Inline: requests cannot be answered on a closed stream.
            DrainOnStop = config.Attach.Mode == AttachMode.Tap ? TapDrainOnStop : InlineDrainOnStop,
            ReadPause = config.Attach.Mode == AttachMode.Tap ? TapReadPause : TimeSpan.Zero,
        });
        services.AddSingleton(sp => new ComponentConnection(
            sp.GetRequiredService<ComponentConnectionOptions>(), sp.GetRequiredService<ILogger<ComponentConnection>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new LiteDbSpool(config.SpoolPath, sp.GetRequiredService<ILogger<LiteDbSpool>>(), SpoolKey.Read(config), acceptNewSpool));
        services.AddHostedService<SpoolWatchService>(); // deleted, replaced or damaged while running: stop, exit code 3
        services.AddSpoolPorts(); // every port of the spool is the one LiteDbSpool (SpoolPorts.cs)
        services.AddSingleton(sp => new EnvelopeDecoder(config.Organizations.SelectMany(o => o.Domains), config.Component.Jid, sp.GetRequiredService<TimeProvider>()));
        // Who holds a seat: the config in force plus the users seen so far (organizations logged by default).
        services.AddSingleton(sp => new SeatLedger(() => holder.Current, sp.GetRequiredService<ISeenUsers>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SeatLedger>>()));
        // Calls in progress and notices sent are kept in the spool across restarts (Continuity/ContinuityLog.cs).
        services.AddSingleton(sp => new ContinuityLog(sp.GetRequiredService<IContinuityStore>()));
        services.AddSingleton(sp =>
        {
            var classifier = new StanzaClassifier(sp.GetRequiredService<SeatLedger>().IsLogged, config.Services);
            classifier.UseContinuity(sp.GetRequiredService<ContinuityLog>(), sp.GetRequiredService<TimeProvider>().GetUtcNow());
            return classifier;
        });
        services.AddSingleton(sp => new CopyDeduplicator(config.DedupWindow, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new ConversationTracker(sp.GetRequiredService<ITranscriptStore>(),
            sp.GetRequiredService<SeatLedger>().EndpointOf, config.IdleClose, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ConversationTracker>>()));
        services.AddSingleton(sp =>
        {
            var notifier = new ArchiveNotifier(sp.GetRequiredService<SeatLedger>().OrganizationOf, config.Component.Jid, sp.GetRequiredService<TimeProvider>());
            notifier.UseContinuity(sp.GetRequiredService<ContinuityLog>());
            return notifier;
        });
        services.AddSingleton(sp =>
            new CompliancePolicy(config.Restrictions, sp.GetRequiredService<SeatLedger>().OrganizationOf, new ClientRegistry(config.Component.Jid),
                sp.GetRequiredService<IEncryptedRoomStore>()));
        services.AddSingleton(sp => new LateRefusals(sp.GetRequiredService<TimeProvider>(),
            capacity: config.Attach is { Mode: AttachMode.Inline, FailureMode: FailureMode.Closed } ? 256 : 0,
            durable: sp.GetRequiredService<ImLogger.Domain.IAnsweredRequests>())); // a refusal reported to the next run still finds what was stored
        services.AddSingleton<StanzaPipeline>();
        services.AddSingleton(sp =>
        {
            var loggers = sp.GetRequiredService<ILoggerFactory>();
            // Each transcript gets its organization's time zone (from the config in force) just before it is rendered.
            var seats = sp.GetRequiredService<SeatLedger>();
            TimeZoneInfo? ZoneOfUser(string jid) => seats.OrganizationOf(jid)?.TimeZone;
            // One LiveSink per endpoint: a reload that changes an endpoint's settings rebuilds the sink behind it.
            return new LiveSinks(config.Endpoints, e => new LocalTimeSink(EndpointSinks.Create(e, loggers, $"imlogger@{config.Component.Jid}"),
                t => LocalTimeSink.ZoneOf(t, ZoneOfUser)));
        });
        services.AddSingleton(sp => new Dispatcher(sp.GetRequiredService<IDeliveryQueue>(), sp.GetRequiredService<ITranscriptReader>(), sp.GetRequiredService<LiveSinks>().Sinks,
            sp.GetRequiredService<ILogger<Dispatcher>>(), sp.GetRequiredService<TimeProvider>(),
            new DispatcherOptions { EndpointMaxAttempts = EndpointSinks.MaxAttempts(config.Endpoints), RetryHorizon = config.RetryFor }));
        services.AddSingleton(sp => new AdapterWatch(() => holder.Current, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<AdapterWatchService>();
        services.AddHostedService(sp => sp.GetRequiredService<AdapterWatchService>());
        // Built before the connection runs (it follows the connection's state); stopped after the service (nothing to stop).
        services.AddSingleton<FailoverWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<FailoverWatch>());
        services.AddSingleton(sp => new IngestLoop(new ComponentStanzaConnection(sp.GetRequiredService<ComponentConnection>()),
            sp.GetRequiredService<StanzaPipeline>(), sp.GetRequiredService<ITranscriptReader>(), sp.GetRequiredService<CopyDeduplicator>(),
            new IngestOptions { Inline = config.Attach.Mode == AttachMode.Inline, SpoolPath = config.SpoolPath, DedupWindow = config.DedupWindow,
                ResentWithin = config.Attach.Timeout },
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<IngestLoop>>())
        {
            // The server side's signs of life are not traffic: they are taken off the stream here, never archived.
            Signals = sp.GetRequiredService<AdapterWatchService>().TryHandle,
            TranscriptsClosed = sp.GetRequiredService<Dispatcher>().Wake,
            SpoolLost = () => sp.GetRequiredService<ISpoolHealth>().Lost,
            Answered = sp.GetRequiredService<ImLogger.Domain.IAnsweredRequests>(),
        });
        services.AddHostedService<ArchiveService>();
        services.AddHostedService<MetricsService>(); // <metrics listen>: /metrics and /health; nothing without it
        services.AddHostedService(sp => new ControlSocketService(holder, sp.GetRequiredService<LiteDbSpool>(),
            new RunningService(sp.GetRequiredService<CompliancePolicy>(), sp.GetRequiredService<SeatLedger>(), sp.GetRequiredService<AdapterWatch>(),
                sp.GetRequiredService<ConfigReloadService>(), sp.GetRequiredService<FailoverWatch>(), sp.GetRequiredService<Dispatcher>()),
            sp.GetRequiredService<ILogger<ControlSocketService>>(), ControlSocketOptions.FromEnvironment()));
        services.AddSingleton(sp => new SeatsAnnouncer(holder, sp.GetRequiredService<ComponentConnection>(), sp.GetRequiredService<ILogger<SeatsAnnouncer>>()));
        services.AddSingleton(sp => new ConfigReloadService(holder, sp.GetRequiredService<SeatLedger>(), sp.GetRequiredService<SeatsAnnouncer>(),
            path => ConfigLoader.Load(path), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ConfigReloadService>>(),
            sp.GetRequiredService<LiveSinks>(), sp.GetRequiredService<AdapterWatch>()));
        services.AddHostedService(sp => sp.GetRequiredService<ConfigReloadService>());
    }
}

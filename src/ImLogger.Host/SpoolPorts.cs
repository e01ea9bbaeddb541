using ImLogger.Continuity;
using ImLogger.Domain;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Spool;
using Microsoft.Extensions.DependencyInjection;

namespace ImLogger.Host;

/// <summary>The spool's ports, each resolved to the one <see cref="LiteDbSpool"/> the service opened: one database and one
/// transaction underneath (a batch's <see cref="IUnitOfWork"/> commits seats, rooms, events and continuity together), while
/// each stage is handed only the port it uses.</summary>
internal static class SpoolPorts
{
    /// <summary>Registers every port of the spool on the <see cref="LiteDbSpool"/> singleton (registered before).</summary>
    public static IServiceCollection AddSpoolPorts(this IServiceCollection services)
    {
        services.AddSingleton<ISpool>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<ITranscriptStore>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<ITranscriptReader>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<IDeliveryQueue>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<IActivityLog>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<ISpoolHealth>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<ISeenUsers>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<IEncryptedRoomStore>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<IContinuityStore>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<IAnsweredRequests>(sp => sp.GetRequiredService<LiteDbSpool>());
        services.AddSingleton<IUnitOfWork>(sp => sp.GetRequiredService<LiteDbSpool>());
        return services;
    }
}

using Gateway.Aspire.ServiceDefaults.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the gateway event publisher.</summary>
public static class GatewayEventServiceExtensions
{
    /// <summary>
    /// Adds <see cref="GatewayEventPublisher"/> (settings in <c>Events</c>) as a singleton and a hosted
    /// service; it writes to Redis when <c>AddRedisClient</c> registered a connection.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayEvents(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayEventOptions>().BindConfiguration(GatewayEventOptions.Section).ValidateOnStart()
            .Validate(o => o.Capacity > 0 && o.BatchSize > 0 && o.BatchDelay >= TimeSpan.Zero, "Events: Capacity and BatchSize must be positive, BatchDelay not negative.");
        builder.Services.AddSingleton<GatewayEventPublisher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GatewayEventPublisher>());
        return builder;
    }
}

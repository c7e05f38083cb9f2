using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Caching;

/// <summary>Registers the response cache.</summary>
public static class ResponseCacheServiceExtensions
{
    /// <summary>
    /// Registers <see cref="ResponseCache"/> with its options (<c>Router:ResponseCache</c>) and the
    /// shared Redis connection (<c>ConnectionStrings:redis</c>, unless another feature registered it
    /// first). Without a Redis connection string the cache still works, per replica, in memory.
    /// </summary>
    public static IHostApplicationBuilder AddResponseCache(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ResponseCacheOptions>().BindConfiguration(ResponseCacheOptions.Section).ValidateOnStart()
            .Validate(o => o.MaxEntryBytes > 0 && o.MemoryEntries >= 0 && o.MemoryBytes >= 0 && o.RedisTimeout > TimeSpan.Zero,
                "Router:ResponseCache: MaxEntryBytes and RedisTimeout must be positive, MemoryEntries and MemoryBytes not negative.");
        if (builder.Configuration.GetConnectionString("redis") is not null && !services.Any(d => d.ServiceType == typeof(IConnectionMultiplexer)))
        {
            builder.AddRedisClient("redis");
        }

        services.AddMetrics();
        services.AddSingleton<ResponseCacheMetrics>();
        services.AddSingleton(sp => new ResponseCache(
            sp.GetRequiredService<IOptions<ResponseCacheOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ResponseCache>>(),
            sp.GetService<IConnectionMultiplexer>(),
            sp.GetRequiredService<ResponseCacheMetrics>()));
        return builder;
    }
}

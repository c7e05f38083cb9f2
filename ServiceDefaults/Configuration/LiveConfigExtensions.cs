using Gateway.Aspire.ServiceDefaults.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registration of a service's live configuration.</summary>
public static class LiveConfigExtensions
{
    /// <summary>
    /// Registers <see cref="LiveConfig{T}"/> starting from <paramref name="initial"/> (what the
    /// configuration file says) and, when a <c>redis</c> connection string is configured, the
    /// <see cref="LiveConfigSubscriber{T}"/> that keeps it equal to the effective configuration
    /// published in Redis. Without Redis (unit-test hosts, a single process) the file's configuration
    /// stays in force. Call after <c>AddRedisClient("redis")</c>.
    /// </summary>
    /// <param name="builder">The service's builder.</param>
    /// <param name="initial">The configuration file's snapshot.</param>
    /// <param name="load">
    /// Parses and validates a multi-document YAML text into a snapshot, throwing on anything invalid;
    /// the second argument names the source for its error messages.
    /// </param>
    public static IHostApplicationBuilder AddLiveConfig<T>(this IHostApplicationBuilder builder, T initial, Func<string, string, T> load)
        where T : class
    {
        var services = builder.Services;
        services.AddSingleton(new LiveConfig<T>(initial));
        if (builder.Configuration.GetConnectionString("redis") is null)
        {
            return builder;
        }

        services.AddOptions<LiveConfigOptions>().BindConfiguration(LiveConfigOptions.Section)
            .Validate(o => o.PollInterval > TimeSpan.Zero, "LiveConfig:PollInterval must be positive.");
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new LiveConfigSubscriber<T>(
            sp.GetRequiredService<LiveConfig<T>>(),
            load,
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<LiveConfigOptions>>(),
            sp.GetRequiredService<ILogger<LiveConfigSubscriber<T>>>()));
        services.AddHostedService(sp => sp.GetRequiredService<LiveConfigSubscriber<T>>());
        return builder;
    }
}

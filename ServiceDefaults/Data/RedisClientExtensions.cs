using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Redis registration with Aspire's conventions (<c>ConnectionStrings__{name}</c>), standing in
/// for the Aspire.StackExchange.Redis component, which our package feed does not serve.
/// </summary>
public static class RedisClientExtensions
{
    /// <summary>
    /// Registers one shared <see cref="IConnectionMultiplexer"/> for the connection string
    /// <paramref name="connectionName"/> and a readiness check that pings it.
    /// </summary>
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName)
            ?? throw new InvalidOperationException(
                $"Connection string '{connectionName}' is missing: set ConnectionStrings__{connectionName} (AppHost sets it).");

        var options = ConfigurationOptions.Parse(connectionString);
        // Keep retrying in the background rather than failing the process when Redis restarts.
        options.AbortOnConnectFail = false;
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            connectionName,
            sp => new RedisHealthCheck(sp.GetRequiredService<IConnectionMultiplexer>()),
            HealthStatus.Unhealthy,
            [ServiceDefaultsExtensions.ReadyTag],
            TimeSpan.FromSeconds(5)));
        return builder;
    }

    private sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("Redis did not answer PING.", ex);
            }
        }
    }
}

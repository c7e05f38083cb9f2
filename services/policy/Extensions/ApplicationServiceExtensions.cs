using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Configuration;
using Gateway.Aspire.Policy.Data;
using Gateway.Aspire.Policy.Identities;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Aspire.Policy.Extensions;

/// <summary>Composition of the policy service.</summary>
public static class ApplicationServiceExtensions
{
    /// <summary>
    /// Redis (token cache and its invalidation channel), PostgreSQL (the <c>policy</c> schema, migrated
    /// at start), gRPC and the token, identity, admission and configuration services; the rate-limit rules and budgets of <c>GATEWAY_CONFIG</c> (when set), loaded
    /// and validated now so an invalid file fails the start with the file, document and field named, then
    /// kept equal to the live configuration published in Redis (<see cref="LiveConfigSubscriber{T}"/>).
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient("redis");
        builder.AddNpgsqlDataSource("gatewaydb");
        builder.AddSchemaMigrations(PolicyMigrations.Schema, PolicyMigrations.All);

        builder.Services.AddGrpc();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddOptions<AdminKeyOptions>()
            .Configure<IConfiguration>((options, configuration) => options.AdminKey = configuration[AdminKeyOptions.ConfigurationKey]);
        builder.Services.AddSingleton<AdminAuthenticator>();
        builder.Services.AddSingleton<TokenRepository>();
        builder.Services.AddSingleton<IdentityRepository>();
        builder.Services.AddSingleton<TokenCache>();
        builder.Services.AddSingleton<TokenLookup>();
        builder.Services.AddSingleton<TokenInvalidation>();

        var configPath = builder.Configuration["GATEWAY_CONFIG"];
        var fullPath = string.IsNullOrWhiteSpace(configPath) ? null : Path.GetFullPath(configPath);
        // The file's rules until the live configuration (Redis) has a version: then every replica follows it.
        builder.AddLiveConfig(fullPath is null ? PolicyRules.None : PolicyRules.Load(fullPath), PolicyRules.Parse);
        builder.Services.AddSingleton<RateLimiter>();
        builder.Services.AddSingleton<BudgetCounters>();
        builder.Services.AddSingleton<AdmissionCounters>();
        builder.Services.AddSingleton<SpendRebuild>();
        builder.Services.AddHostedService<TokenStoreWarmup>();

        // Manifests applied through the admin API: stored with their history, published to Redis
        // (at start too, after the migrations: hosted services start in registration order).
        builder.Services.AddSingleton(ConfigFile.Read(fullPath));
        builder.Services.AddSingleton<ConfigStore>();
        builder.Services.AddSingleton<ConfigPublisher>();
        builder.Services.AddSingleton<ConfigPublication>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ConfigPublication>());
        // After the warm-up (registration order): subscribes every replica to token invalidations.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TokenInvalidation>());
        return builder;
    }
}

using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Caching;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Signing;
using Gateway.Aspire.Router.Usage;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Router.Extensions;

/// <summary>The router's own services.</summary>
public static class ApplicationServiceExtensions
{
    /// <summary>
    /// Loads <c>gateway.yaml</c> (failing the start with a precise message when it is invalid) and
    /// registers the gRPC clients, the forwarder and the usage pipeline.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        Func<string, string?> environment = name => configuration[name];
        var path = GatewayConfigLoader.FindPath(configuration["GATEWAY_CONFIG"], Directory.GetCurrentDirectory());
        var initial = RouterConfig.Resolve(GatewayConfigLoader.Load(path, environment), environment, DateTimeOffset.UtcNow);

        var services = builder.Services;
        services.AddOptions<Routing.RoutingOptions>().BindConfiguration(Routing.RoutingOptions.Section).ValidateOnStart()
            .Validate(o => o.CircuitFailureRatio is > 0 and <= 1 && o.CircuitFailureThreshold >= 2 && o.LatencyMaxSamples > 0
                && o.CircuitSamplingDuration >= TimeSpan.FromMilliseconds(500) && o.CircuitBreakDuration >= TimeSpan.FromMilliseconds(500),
                "Router:Routing: CircuitFailureRatio must be in (0, 1], CircuitFailureThreshold at least 2, durations at least 500 ms.");
        if (configuration.GetConnectionString("redis") is not null)
        {
            // Replicas share latency samples and sticky sessions through Redis.
            builder.AddRedisClient("redis");
            services.AddSingleton<Routing.IRoutingStateStore, Routing.RedisRoutingStateStore>();
        }
        else
        {
            services.AddSingleton<Routing.IRoutingStateStore, Routing.InMemoryRoutingStateStore>();
        }

        // The file's configuration until the live configuration (Redis) has a version; an invalid
        // publish is logged and the snapshot in force stays.
        builder.AddLiveConfig(initial, (text, source) => RouterConfig.Parse(text, source, environment, DateTimeOffset.UtcNow));

        services.AddSingleton<Routing.RoutingMetrics>();
        builder.AddGatewayEvents();
        services.AddSingleton<Telemetry.GatewayRequestMetrics>();
        services.AddSingleton<Telemetry.RequestTelemetry>();
        services.AddSingleton<Telemetry.EventFeed>();
        services.AddSingleton<Routing.TargetHealthRegistry>();
        services.AddSingleton<Routing.LatencyTracker>();
        services.AddSingleton<Routing.StickySessions>();
        services.AddSingleton<Routing.RoutePlanner>();
        services.AddOptions<RouterOptions>().BindConfiguration(RouterOptions.Section).ValidateOnStart()
            .Validate(o => o.MaxRequestBodyBytes > 0 && o.UsageQueueCapacity > 0 && o.UsageBatchSize > 0 && o.SettleQueueCapacity > 0 && o.SettleBatchSize > 0, "Router: sizes must be positive.");
        services.AddSingleton(TimeProvider.System);

        // One channel per service, its address resolved once (GrpcServiceChannels: why not HttpClientFactory).
        services.AddGrpcServiceClient("policy", channel => new Admission.AdmissionClient(channel));
        services.AddGrpcServiceClient("policy", channel => new Tokens.TokensClient(channel));
        services.AddGrpcServiceClient("policy", channel => new Identities.IdentitiesClient(channel));
        services.AddGrpcServiceClient("policy", channel => new Spend.SpendClient(channel));
        services.AddGrpcServiceClient("policy", channel => new Gateway.Aspire.Policy.Grpc.Config.ConfigClient(channel));
        services.AddGrpcServiceClient("accounting", channel => new Ledger.LedgerClient(channel));
        services.AddGrpcServiceClient("accounting", channel => new Accounting.Grpc.Analytics.AnalyticsClient(channel));
        services.AddGrpcServiceClient("guardrails", channel => new Gateway.Aspire.Guardrails.Grpc.Guardrails.GuardrailsClient(channel));

        services.AddSingleton<UpstreamInvoker>();
        services.AddSingleton<ExternalModerationClient>();
        services.AddSingleton<IRequestForwarder, RequestForwarder>();
        services.AddSingleton<UsageQueue>();
        services.AddSingleton(TokenEstimator.Shared);
        services.AddHostedService<UsageShipper>();
        services.AddSingleton<Settlement.SettlementQueue>();
        services.AddHostedService<Settlement.SettlementShipper>();
        services.AddHostedService<CatalogLogger>();
        builder.AddResponseCache();
        services.AddResponseSigning(configuration);
        return builder;
    }

    /// <summary>Says once at start which configuration is in use.</summary>
    private sealed class CatalogLogger(LiveConfig<RouterConfig> live, ILogger<CatalogLogger> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var catalog = live.Current.Catalog;
            RouterLog.ConfigLoaded(logger, catalog.Config.Path, catalog.Config.ProviderAccounts.Count, catalog.Models.Count);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

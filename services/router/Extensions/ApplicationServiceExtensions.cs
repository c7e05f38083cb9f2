using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Usage;

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
        var config = GatewayConfigLoader.Load(path, environment);
        var catalog = new ModelCatalog(config, environment, DateTimeOffset.UtcNow);

        var services = builder.Services;
        services.AddSingleton(catalog);
        services.AddOptions<RouterOptions>().BindConfiguration(RouterOptions.Section).ValidateOnStart()
            .Validate(o => o.MaxRequestBodyBytes > 0 && o.UsageQueueCapacity > 0 && o.UsageBatchSize > 0, "Router: sizes must be positive.");
        services.AddSingleton(TimeProvider.System);

        services.AddGrpcServiceClient<Admission.AdmissionClient>("policy");
        services.AddGrpcServiceClient<Tokens.TokensClient>("policy");
        services.AddGrpcServiceClient<Ledger.LedgerClient>("accounting");
        services.AddGrpcServiceClient<Accounting.Grpc.Analytics.AnalyticsClient>("accounting");
        services.AddGrpcServiceClient<Gateway.Aspire.Guardrails.Grpc.Guardrails.GuardrailsClient>("guardrails");

        services.AddSingleton<UpstreamInvoker>();
        services.AddSingleton<IRequestForwarder, RequestForwarder>();
        services.AddSingleton<UsageQueue>();
        services.AddSingleton(TokenEstimator.Shared);
        services.AddHostedService<UsageShipper>();
        services.AddHostedService<CatalogLogger>();
        return builder;
    }

    /// <summary>Says once at start which configuration is in use.</summary>
    private sealed class CatalogLogger(ModelCatalog catalog, ILogger<CatalogLogger> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            RouterLog.ConfigLoaded(logger, catalog.Config.Path, catalog.Config.ProviderAccounts.Count, catalog.Models.Count);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

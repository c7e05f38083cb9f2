using Gateway.Aspire.Accounting.Alerts;
using Gateway.Aspire.Accounting.Analytics;
using Gateway.Aspire.Accounting.Data;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Aspire.Accounting.Extensions;

/// <summary>Composition of the accounting service.</summary>
public static class ApplicationServiceExtensions
{
    /// <summary>
    /// PostgreSQL (the <c>accounting</c> schema, migrated at start), gRPC, the ledger, its spool for
    /// PostgreSQL outages and their replay, and its partition maintenance (<see cref="LedgerOptions"/> from <c>Accounting:Ledger</c>).
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDataSource("gatewaydb");
        builder.AddSchemaMigrations(AccountingMigrations.Schema, AccountingMigrations.All);

        builder.Services.AddGrpc();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<LedgerOptions>().BindConfiguration(LedgerOptions.Section).ValidateOnStart()
            .Validate(o => o.RetentionDays >= 1 && o.PartitionDaysAhead >= 1 && o.MaintenanceInterval > TimeSpan.Zero,
                "Accounting:Ledger: RetentionDays and PartitionDaysAhead must be at least 1, MaintenanceInterval positive.")
            .Validate(o => o.SpoolDirectory.Length > 0 && o.ReplayInterval > TimeSpan.Zero && o.ReplayBatchRows >= 1,
                "Accounting:Ledger: SpoolDirectory is required, ReplayInterval must be positive and ReplayBatchRows at least 1.")
            // A timer cannot wait longer than ~49 days: a larger interval stopped the service at start
            // with a bare cancellation instead of this message.
            .Validate(o => o.RollupInterval > TimeSpan.Zero && o.RollupInterval <= TimeSpan.FromDays(1) && o.RollupBatchRows >= 1,
                "Accounting:Ledger: RollupInterval must be positive and at most 1 day, RollupBatchRows at least 1.");
        builder.Services.AddSingleton<LedgerPartitions>();
        builder.Services.AddSingleton<LedgerWriter>();
        builder.Services.AddSingleton<LedgerSpool>();
        // After the migrations' hosted service (registered above): the partitioned table exists by then.
        builder.Services.AddSingleton<LedgerMaintenance>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerMaintenance>());
        builder.Services.AddSingleton<LedgerReplay>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LedgerReplay>());
        builder.Services.AddSingleton<UsageRollup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UsageRollup>());
        builder.AddAlerts();
        return builder;
    }

    /// <summary>
    /// Alert delivery (<see cref="AlertDispatcher"/>, options from <c>Accounting:Alerts</c>) and the
    /// error-rate and latency rules (<see cref="ModelAlertEvaluator"/>): those of <c>GATEWAY_CONFIG</c>
    /// at start, then the live configuration's. Only with a <c>redis</c> connection string: the alert
    /// queue lives there. Rules without Redis fail the start.
    /// </summary>
    private static void AddAlerts(this IHostApplicationBuilder builder)
    {
        var configPath = builder.Configuration["GATEWAY_CONFIG"];
        var rules = string.IsNullOrWhiteSpace(configPath) ? [] : ModelAlertConfigLoader.Load(Path.GetFullPath(configPath));
        if (builder.Configuration.GetConnectionString("redis") is null)
        {
            if (rules.Count > 0)
            {
                throw new InvalidOperationException(
                    $"{ModelAlertConfigLoader.DocumentType} rules need Redis (the alert queue): set ConnectionStrings__redis.");
            }

            return;
        }

        builder.AddRedisClient("redis");
        builder.AddLiveConfig(rules, ModelAlertConfigLoader.Parse);
        builder.Services.AddOptions<AlertOptions>().BindConfiguration(AlertOptions.Section).ValidateOnStart()
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.RetryDelay > TimeSpan.Zero && o.MaxRetryDelay < o.ClaimIdle && o.MaxAttempts >= 1
                    && o.RequestTimeout > TimeSpan.Zero && o.EvaluationInterval > TimeSpan.Zero,
                "Accounting:Alerts: intervals must be positive, MaxRetryDelay below ClaimIdle, MaxAttempts at least 1.");
        builder.Services.AddSingleton<AlertSender>();
        builder.Services.AddSingleton<AlertMetrics>();
        // Before the dispatcher: hosted services stop in reverse order, so the publisher drains what the dispatcher queued.
        builder.AddGatewayEvents();
        builder.Services.AddHostedService<AlertDispatcher>();
        // Always running: a rule may arrive through the live configuration at any time.
        builder.Services.AddSingleton<ModelAlertEvaluator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelAlertEvaluator>());
    }

    /// <summary>The gRPC services: Ledger (writes) and Analytics (queries).</summary>
    public static IEndpointRouteBuilder MapAccountingServices(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<LedgerService>();
        app.MapGrpcService<AnalyticsService>();
        return app;
    }
}

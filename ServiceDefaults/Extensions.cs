using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The defaults every Gateway.Aspire service shares: OpenTelemetry, health endpoints, service
/// discovery and HttpClient resilience. Mirrors the Aspire ServiceDefaults template so a team that
/// has Aspire recognises it at once.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Tag of health checks that must pass before the service takes traffic.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Tag of health checks that only say the process is alive.</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Configuration key (<c>Telemetry__Tracing</c> in the environment) that turns tracing on or off;
    /// default: on exactly when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, the only place traces go.
    /// </summary>
    public const string TracingSetting = "Telemetry:Tracing";

    /// <summary>Log categories whose mere enablement makes ASP.NET Core or the gRPC client start an Activity per request or call.</summary>
    private static readonly string[] s_activityLoggingCategories = ["Microsoft.AspNetCore.Hosting.Diagnostics", "Grpc.Net.Client.Internal.GrpcCall"];

    /// <summary>
    /// Adds OpenTelemetry, default health checks, service discovery and resilient HttpClient defaults.
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>
    /// Logs, traces and metrics through OpenTelemetry: ASP.NET Core, HttpClient, gRPC client and
    /// runtime instrumentation, the OTLP exporter when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set and
    /// a Prometheus scrape endpoint (mapped by <see cref="MapDefaultEndpoints"/>).
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(GatewayTelemetry.MeterPrefix + "*")
                .AddPrometheusExporter());
        builder.Services.ConfigureOpenTelemetryMeterProvider(
            (services, metrics) => metrics.AddView(OwnInstrumentsOnly(services.GetRequiredService<IMeterFactory>())));

        // Traces only go out through OTLP. Listening without an exporter still creates and tags an
        // Activity per request and per outgoing call in every service, for nothing (docs/perf/README.md,
        // "What was changed"). Telemetry:Tracing overrides.
        if (builder.Configuration.GetValue<bool?>(TracingSetting) ?? otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(GatewayTelemetry.ActivitySourcePrefix + "*")
                .AddAspNetCoreInstrumentation(options =>
                    // Probes and scrapes would drown the traces that matter.
                    options.Filter = context => !IsInfrastructurePath(context.Request.Path))
                // Grpc.Net.Client emits activities under this source name natively.
                .AddSource("Grpc.Net.Client")
                .AddHttpClientInstrumentation());
        }
        else
        {
            // ASP.NET Core starts an Activity and a log scope for every request, and the gRPC client one
            // per call, whenever their logger is enabled at any level (so that log lines carry a trace
            // id); HttpClient then starts a child Activity, tags it and writes a traceparent header
            // because one is current. Without tracing nobody reads them: ≈ 15 % of the router's
            // allocations per request (docs/perf/README.md, "What was changed"). What these categories
            // log: request start/finish lines (Information, dropped at the usual Warning) and gRPC call
            // failures, which reach the caller as an RpcException it logs itself. Configuring a level
            // for either category keeps its logs, and with them the activities.
            foreach (var category in s_activityLoggingCategories)
            {
                if (builder.Configuration[$"Logging:LogLevel:{category}"] is null)
                {
                    builder.Logging.AddFilter(category, LogLevel.None);
                }
            }
        }

        if (otlp)
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Adds the liveness check; services add their readiness checks (Redis, Postgres, migrations).</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (ready: every check tagged <see cref="ReadyTag"/> or <see cref="LiveTag"/>),
    /// <c>/alive</c> (live checks only) and <c>/metrics</c> (Prometheus text format).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions());
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    /// <summary>
    /// A view that drops the instruments of meters another application in this process created (their
    /// <see cref="Meter.Scope"/> is that application's <see cref="IMeterFactory"/>); process-wide meters
    /// (created without a factory, like the runtime's) stay.
    /// </summary>
    /// <remarks>
    /// A meter provider listens to every meter of a subscribed name in the process, and merges the
    /// instruments of equal identity into one metric stream. When one of those applications stops, its
    /// meter is disposed, and OpenTelemetry retires the whole merged stream: the next scrape no longer has
    /// the series, the remaining application's measurements go to the retired stream and are lost, and a
    /// new instrument of that name starts a new stream from zero. A counter went down on /metrics. Each
    /// service runs alone in its process, but tests, and any host of several applications, do not.
    /// </remarks>
    private static Func<Instrument, MetricStreamConfiguration?> OwnInstrumentsOnly(IMeterFactory own) =>
        instrument => instrument.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, own) ? MetricStreamConfiguration.Drop : null;

    private static bool IsInfrastructurePath(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") || path.StartsWithSegments("/metrics");
}

using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Analytics;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Routing;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Polly.CircuitBreaker;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// Read-only admin views of routing and resilience: <c>GET /admin/v1/targets</c> and
/// <c>GET /admin/v1/metrics/summary</c>. The views are this replica's own numbers; the admin
/// credential is checked by policy like every admin call (<see cref="AdminCaller"/>).
/// </summary>
public static class RoutingAdminApi
{
    /// <summary>Maps the routing admin endpoints.</summary>
    public static IEndpointRouteBuilder MapRoutingAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/targets", Targets);
        app.MapGet("/admin/v1/metrics/summary", Summary);
        return app;
    }

    /// <summary>Every load-balance target: circuit state, availability, recent TPOT, counters (this replica).</summary>
    internal static async Task<IResult> Targets(HttpContext context, Tokens.TokensClient tokens, LiveConfig<RouterConfig> live, TargetHealthRegistry health, LatencyTracker latency)
    {
        if ((await AdminCaller.AuthorizeAsync(context, tokens, "")).Error is { } refusal)
        {
            return refusal;
        }

        var routes = live.Current.Routes;
        var targets = health.Of(routes).Select(h =>
        {
            var (requests, failures, retries, fallbacks, consecutive) = h.Counts;
            var tpot = latency.Peek(h.Id);
            return new TargetStatus(
                h.Id,
                h.Account,
                CircuitName(h.Circuit),
                h.IsAvailable,
                h.CoolingDownUntil,
                tpot.Samples > 0 ? Math.Round(tpot.AverageMs, 3) : null,
                tpot.Samples,
                requests,
                failures,
                consecutive,
                retries,
                fallbacks,
                [.. routes.Rules.Where(r => r.Targets.Any(t => t.Id == h.Id)).Select(r => r.Rule.Id)]);
        }).ToList();
        return TypedResults.Json(new TargetsResponse("list", targets), RouterJsonContext.Web.TargetsResponse);
    }

    /// <summary>Request totals of this replica since it started.</summary>
    internal static async Task<IResult> Summary(HttpContext context, Tokens.TokensClient tokens, RoutingMetrics metrics, TargetHealthRegistry health, LiveConfig<RouterConfig> live)
    {
        if ((await AdminCaller.AuthorizeAsync(context, tokens, "")).Error is { } refusal)
        {
            return refusal;
        }

        var total = metrics.TotalRequests;
        var hits = metrics.TotalCacheHits;
        return TypedResults.Json(
            new MetricsSummary(total, hits, total == 0 ? 0 : Math.Round(100.0 * hits / total, 2), metrics.TotalFailures, health.ProvidersActive(live.Current)),
            RouterJsonContext.Web.MetricsSummary);
    }

    private static string CircuitName(CircuitState state) => state switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        _ => "isolated",
    };
}

/// <summary>Answer of <c>GET /admin/v1/targets</c>.</summary>
public sealed record TargetsResponse(string Object, IReadOnlyList<TargetStatus> Data);

/// <summary>One target's state on this replica.</summary>
/// <param name="Target"><c>&lt;account&gt;/&lt;model&gt;</c>.</param>
/// <param name="Account">Its provider account.</param>
/// <param name="CircuitState"><c>closed</c>, <c>open</c>, <c>half_open</c> or <c>isolated</c>.</param>
/// <param name="Available">Whether routing picks it now (circuit not open, no Retry-After cool-down).</param>
/// <param name="CoolingDownUntil">End of an upstream Retry-After, if one is running.</param>
/// <param name="RecentTpotMs">Average time per output token over the latency window, null without samples.</param>
/// <param name="TpotSamples">Samples behind <paramref name="RecentTpotMs"/>.</param>
/// <param name="Requests">Attempts made on it.</param>
/// <param name="Failures">Attempts that failed (counted by the circuit breaker).</param>
/// <param name="ConsecutiveFailures">Failures since its last success.</param>
/// <param name="Retries">Retries on it.</param>
/// <param name="Fallbacks">Times a request moved on from it to another target.</param>
/// <param name="Rules">Ids of the rules it serves.</param>
public sealed record TargetStatus(
    string Target,
    string Account,
    string CircuitState,
    bool Available,
    DateTimeOffset? CoolingDownUntil,
    double? RecentTpotMs,
    int TpotSamples,
    long Requests,
    long Failures,
    long ConsecutiveFailures,
    long Retries,
    long Fallbacks,
    IReadOnlyList<string> Rules);

/// <summary>Answer of <c>GET /admin/v1/metrics/summary</c> (this replica, since it started).</summary>
/// <param name="TotalRequests">Model requests answered (any status).</param>
/// <param name="CacheHits">Of those, answered from the response cache.</param>
/// <param name="CacheHitRatePercent">cache_hits / total_requests × 100, two decimals.</param>
/// <param name="Failures">Model requests answered with a 5xx.</param>
/// <param name="ProvidersActive">Provider accounts with a model that can take requests (not every routed target's circuit open).</param>
public sealed record MetricsSummary(long TotalRequests, long CacheHits, double CacheHitRatePercent, long Failures, int ProvidersActive);

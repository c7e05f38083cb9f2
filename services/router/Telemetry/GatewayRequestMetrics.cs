using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Aspire.Router.Telemetry;

/// <summary>
/// The gateway's request metrics in Prometheus' usual names (meter <c>Gateway.Aspire.Gateway</c>,
/// scraped at <c>/metrics</c>): <c>gateway_requests_total{model,provider,status}</c>,
/// <c>gateway_tokens_total{model,kind}</c> (kind: prompt, completion, cached),
/// <c>gateway_cost_usd_total{model,team}</c>, the histograms <c>gateway_request_duration_seconds{model}</c>
/// and <c>gateway_time_to_first_token_seconds{model}</c> (streams), and
/// <c>gateway_budget_exceeded_total{model}</c> (calls a hard budget refused).
/// </summary>
/// <remarks>
/// Labels hold only names from configuration (catalog and virtual models, providers, teams) — never a
/// name a client made up — so a scrape's size stays bounded. Tags go in a <see cref="TagList"/> and
/// statuses are cached strings: recording allocates nothing.
/// </remarks>
internal sealed class GatewayRequestMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Gateway.Aspire.Gateway";

    // Prometheus' exporter appends _total to counters and the unit's name (s → _seconds) to the rest.
    private static readonly double[] s_durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
    private static readonly string[] s_statuses = [.. Enumerable.Range(0, 600).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _ttft;
    private readonly Counter<long> _budgetExceeded;

    /// <summary>Creates the instruments on a meter of <paramref name="meterFactory"/>.</summary>
    public GatewayRequestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("gateway.requests", description: "Model requests answered, by model, provider and status.");
        _tokens = meter.CreateCounter<long>("gateway.tokens", description: "Tokens billed, by model and kind (prompt, completion, cached).");
        _cost = meter.CreateCounter<double>("gateway.cost_usd", description: "Cost in USD, by model and team.");
        _duration = meter.CreateHistogram("gateway.request.duration", unit: "s", description: "Time from a request's arrival to its end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });
        _ttft = meter.CreateHistogram("gateway.time_to_first_token", unit: "s", description: "Time to the first byte of a streamed answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });
        _budgetExceeded = meter.CreateCounter<long>("gateway.budget_exceeded", description: "Calls refused by a hard budget.");
    }

    /// <summary>Records one answered request.</summary>
    public void Record(CompletedRequest request, string model)
    {
        _requests.Add(1, new TagList { { "model", model }, { "provider", request.Provider }, { "status", StatusText(request.Status) } });
        var usage = request.Usage;
        if (usage.PromptTokens > 0)
        {
            _tokens.Add(usage.PromptTokens, new TagList { { "model", model }, { "kind", "prompt" } });
        }

        if (usage.CompletionTokens > 0)
        {
            _tokens.Add(usage.CompletionTokens, new TagList { { "model", model }, { "kind", "completion" } });
        }

        if (usage.CachedTokens > 0)
        {
            _tokens.Add(usage.CachedTokens, new TagList { { "model", model }, { "kind", "cached" } });
        }

        if (request.CostUsd > 0)
        {
            _cost.Add((double)request.CostUsd, new TagList { { "model", model }, { "team", request.Caller.Team } });
        }

        var tag = new KeyValuePair<string, object?>("model", model);
        _duration.Record(request.LatencyMs / 1000, tag);
        if (request.TimeToFirstTokenMs > 0)
        {
            _ttft.Record(request.TimeToFirstTokenMs / 1000, tag);
        }
    }

    /// <summary>Records a request refused at admission (rate limit or budget: 429).</summary>
    public void Refused(string model, int status, bool budget)
    {
        _requests.Add(1, new TagList { { "model", model }, { "provider", "" }, { "status", StatusText(status) } });
        if (budget)
        {
            _budgetExceeded.Add(1, new KeyValuePair<string, object?>("model", model));
        }
    }

    private static string StatusText(int status) => (uint)status < (uint)s_statuses.Length ? s_statuses[status] : "other";
}

using System.Diagnostics.Metrics;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// The router's request and per-target metrics (meter <c>Gateway.Aspire.Router</c>, exported by
/// ServiceDefaults to Prometheus and OTLP), plus the running totals of
/// <c>GET /admin/v1/metrics/summary</c>.
/// </summary>
/// <remarks>
/// Instruments: <c>gateway.router.requests</c> (every model request answered), <c>gateway.router.failures</c>
/// (answered with a 5xx), <c>gateway.router.cache.hits</c>, and per target <c>gateway.router.target.attempts</c>
/// (tag <c>outcome</c>), <c>.failures</c>, <c>.retries</c>, <c>.fallbacks</c>, <c>.circuit_opened</c>, <c>gateway.router.guardrails.unreachable</c>
/// (tags <c>stage</c>, <c>outcome</c>: fail_open or fail_closed), and the
/// gauge <c>gateway.router.target.circuit_state</c> (0 closed, 1 open, 2 half-open, 3 isolated).
/// </remarks>
internal sealed class RoutingMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Gateway.Aspire.Router";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _targetFailures;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _circuitOpened;
    private readonly Counter<long> _guardrailsUnreachable;
    private long _totalRequests;
    private long _totalFailures;
    private long _totalCacheHits;

    /// <summary>Creates the instruments on a meter of <paramref name="meterFactory"/>.</summary>
    public RoutingMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _requests = Meter.CreateCounter<long>("gateway.router.requests", description: "Model requests answered.");
        _failures = Meter.CreateCounter<long>("gateway.router.failures", description: "Model requests answered with a 5xx.");
        _cacheHits = Meter.CreateCounter<long>("gateway.router.cache.hits", description: "Model requests answered from the response cache.");
        _attempts = Meter.CreateCounter<long>("gateway.router.target.attempts", description: "Upstream attempts per routed target and outcome.");
        _targetFailures = Meter.CreateCounter<long>("gateway.router.target.failures", description: "Attempts that counted as a failure of their target.");
        _retries = Meter.CreateCounter<long>("gateway.router.target.retries", description: "Retries on a target.");
        _fallbacks = Meter.CreateCounter<long>("gateway.router.target.fallbacks", description: "Fallbacks away from a target.");
        _circuitOpened = Meter.CreateCounter<long>("gateway.router.target.circuit_opened", description: "Times a target's circuit opened.");
        _guardrailsUnreachable = Meter.CreateCounter<long>("gateway.router.guardrails.unreachable",
            description: "Guardrails calls that could not be made, by stage (input, output) and outcome (fail_open, fail_closed).");
    }

    /// <summary>The meter (for the circuit-state gauge and tests).</summary>
    public Meter Meter { get; }

    /// <summary>Requests answered since start.</summary>
    public long TotalRequests => Interlocked.Read(ref _totalRequests);

    /// <summary>Requests answered with a 5xx since start.</summary>
    public long TotalFailures => Interlocked.Read(ref _totalFailures);

    /// <summary>Requests answered from the cache since start.</summary>
    public long TotalCacheHits => Interlocked.Read(ref _totalCacheHits);

    /// <summary>Counts a model request's final answer.</summary>
    public void RequestAnswered(int status)
    {
        Interlocked.Increment(ref _totalRequests);
        _requests.Add(1);
        if (status >= 500)
        {
            Interlocked.Increment(ref _totalFailures);
            _failures.Add(1);
        }
    }

    /// <summary>Counts an answer served from the response cache (the cache calls this; it also counts as a request answered).</summary>
    public void CacheHit()
    {
        Interlocked.Increment(ref _totalCacheHits);
        _cacheHits.Add(1);
    }

    /// <summary>Counts one attempt on a routed target.</summary>
    public void Attempted(string target, AttemptKind outcome)
    {
        _attempts.Add(1, new KeyValuePair<string, object?>("target", target), new KeyValuePair<string, object?>("outcome", OutcomeName(outcome)));
        if (outcome is AttemptKind.Failed or AttemptKind.BrokeMidStream)
        {
            _targetFailures.Add(1, new KeyValuePair<string, object?>("target", target));
        }
    }

    /// <summary>Counts a retry on <paramref name="target"/>.</summary>
    public void Retried(string target) => _retries.Add(1, new KeyValuePair<string, object?>("target", target));

    /// <summary>Counts a fallback from <paramref name="target"/>.</summary>
    public void FellBack(string target) => _fallbacks.Add(1, new KeyValuePair<string, object?>("target", target));

    /// <summary>Counts a circuit opening.</summary>
    public void CircuitOpened(string target) => _circuitOpened.Add(1, new KeyValuePair<string, object?>("target", target));

    /// <summary>Counts a guardrails call that could not be made and what the rules' on_error made of it.</summary>
    public void GuardrailsUnreachable(string stage, bool failedOpen) =>
        _guardrailsUnreachable.Add(1, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("outcome", failedOpen ? "fail_open" : "fail_closed"));

    private static string OutcomeName(AttemptKind kind) => kind switch
    {
        AttemptKind.Succeeded => "succeeded",
        AttemptKind.Failed => "failed",
        AttemptKind.Rejected => "rejected",
        AttemptKind.Unservable => "unservable",
        _ => "broke_mid_stream",
    };
}

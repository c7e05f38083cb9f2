namespace Gateway.Aspire.Router;

/// <summary>Router settings, bound from the <c>Router</c> configuration section.</summary>
public sealed record RouterOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router";

    /// <summary>Largest request body accepted, in bytes; larger ones get 413. Default: 10 MB (10,000,000 bytes).</summary>
    public long MaxRequestBodyBytes { get; init; } = 10_000_000;

    /// <summary>Upstream timeout when the model sets none: to the response headers, then the longest silence in a stream. Default: 10 minutes.</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Deadline of the policy Admit call. Default: 5 seconds.</summary>
    public TimeSpan PolicyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether requests go through the guardrails service (CheckInput, then CheckOutput/CheckStream
    /// when it asks). Default: null, meaning on exactly when <c>gateway.yaml</c> has a
    /// <c>gateway-guardrails-config</c> rule, so a gateway without rules pays no round trip.
    /// </summary>
    public bool? CheckInputGuardrails { get; init; }

    /// <summary>Deadline of the guardrails call. Default: 5 seconds.</summary>
    public TimeSpan GuardrailsTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Usage records held in memory before requests wait for the shipper. Default: 10000.</summary>
    public int UsageQueueCapacity { get; init; } = 10_000;

    /// <summary>Largest batch sent to the ledger. Default: 500.</summary>
    public int UsageBatchSize { get; init; } = 500;

    /// <summary>How long the shipper waits to fill a batch. Default: 50 ms.</summary>
    public TimeSpan UsageBatchDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Settlements (reservations moved to actual usage) held in memory while policy is unreachable; past it they are dropped, on the safe side. Default: 20000.</summary>
    public int SettleQueueCapacity { get; init; } = 20_000;

    /// <summary>Largest settlement batch sent to policy (one SettleBatch call, one Redis round trip). Default: 256.</summary>
    public int SettleBatchSize { get; init; } = 256;

    /// <summary>How long the settlement shipper waits to fill a batch: a reservation counts at its estimate this much longer. Default: 5 ms.</summary>
    public TimeSpan SettleBatchDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>How long one settlement batch is retried while policy fails before it is dropped (policy remembers batch ids for an hour). Default: 10 minutes.</summary>
    public TimeSpan SettleRetryLimit { get; init; } = TimeSpan.FromMinutes(10);
}

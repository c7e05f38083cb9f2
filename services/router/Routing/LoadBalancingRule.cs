using Gateway.Aspire.Router.Configuration;

namespace Gateway.Aspire.Router.Routing;

/// <summary>How a rule picks the first target among its <c>load_balance_targets</c>.</summary>
public enum RoutingStrategy
{
    /// <summary><c>weight-based-routing</c>: traffic split in proportion to each target's <c>weight</c>.</summary>
    Weight,

    /// <summary><c>latency-based-routing</c>: the target with the lowest recent time per output token.</summary>
    Latency,

    /// <summary><c>priority-based-routing</c>: the lowest <c>priority</c> among the healthy targets.</summary>
    Priority,
}

/// <summary>
/// One rule of a <c>gateway-load-balancing-config</c> document (TrueFoundry's format): which
/// requests it applies to (<see cref="Subjects"/>, <see cref="Models"/>, <see cref="Metadata"/>,
/// all AND-ed; an empty list matches everything) and the targets that serve them.
/// </summary>
public sealed record LoadBalancingRule
{
    /// <summary>Unique id across all documents (logs, metrics, sticky-session keys). Required.</summary>
    public required string Id { get; init; }

    /// <summary>The strategy (<c>type</c>). Required.</summary>
    public required RoutingStrategy Strategy { get; init; }

    /// <summary><c>when.subjects</c>: <c>user:</c>, <c>team:</c> or <c>virtualaccount:</c> names. Default: any caller.</summary>
    public IReadOnlyList<string> Subjects { get; init; } = [];

    /// <summary>
    /// <c>when.models</c>: the model names clients call. A name that is not a catalog model is a
    /// virtual model: listed by <c>GET /v1/models</c> and served only through rules. Default: any model.
    /// </summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary><c>when.metadata</c>: every key must be in <c>x-gateway-metadata</c> with this value. Default: none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// <c>default_model</c>: the model a request that names none calls when this rule's
    /// <c>when.metadata</c> matches (task defaults, e.g. <c>task: self_reflection</c>). It is one of
    /// <see cref="Models"/>. Default: null (a request must name its model).
    /// </summary>
    public string? DefaultModel { get; init; }

    /// <summary><c>load_balance_targets</c>, in file order. Required, at least one.</summary>
    public required IReadOnlyList<LoadBalanceTarget> Targets { get; init; }

    /// <summary><c>sticky_routing</c>: keep a session on one target. Default: null (off).</summary>
    public StickyRouting? Sticky { get; init; }

    /// <summary>
    /// <c>cache: { ttl_seconds: N }</c>: the response cache for the requests this rule routes, keyed
    /// on the requested model name whichever target answers. Default: null, meaning the requested
    /// model's own <c>cache</c> when it is a catalog model, else only requests that send
    /// <c>x-gateway-cache-ttl</c> are cached.
    /// </summary>
    public ModelCacheConfig? Cache { get; init; }

    /// <summary>Where the rule was read, for messages.</summary>
    public string Source { get; init; } = "";
}

/// <summary>One entry of <c>load_balance_targets</c>.</summary>
public sealed record LoadBalanceTarget
{
    /// <summary>Status codes that move on to the next target when <c>fallback_status_codes</c> is not set (TrueFoundry's defaults).</summary>
    public static readonly IReadOnlyList<int> DefaultFallbackStatusCodes = [401, 403, 404, 429, 500, 502, 503];

    /// <summary><c>target</c>: a catalog model, <c>&lt;account&gt;/&lt;model&gt;</c>. Required.</summary>
    public required string Target { get; init; }

    /// <summary><c>weight</c> (weight-based routing, required there): a relative share, 0 takes no first-choice traffic. Default: 1.</summary>
    public int Weight { get; init; } = 1;

    /// <summary><c>priority</c> (priority-based routing): lower goes first. Default: 0.</summary>
    public int Priority { get; init; }

    /// <summary>
    /// <c>sla_cutoff.time_per_output_token_ms</c> (priority-based routing): the target counts as
    /// unhealthy while its recent average time per output token is above this, and healthy again
    /// when it is not. Default: null (no cutoff).
    /// </summary>
    public double? SlaCutoffTpotMs { get; init; }

    /// <summary><c>fallback_candidate</c>: whether a failure elsewhere may fall back to this target. Default: true.</summary>
    public bool FallbackCandidate { get; init; } = true;

    /// <summary><c>fallback_status_codes</c>: upstream statuses that move on to the next target. Default: <see cref="DefaultFallbackStatusCodes"/>.</summary>
    public IReadOnlyList<int> FallbackStatusCodes { get; init; } = DefaultFallbackStatusCodes;

    /// <summary><c>retry_config</c>: retries on this target before falling back. Default: <see cref="RetryConfig"/>'s defaults.</summary>
    public RetryConfig Retry { get; init; } = new();

    /// <summary><c>headers_override</c>: upstream headers set or removed for this target. Default: none.</summary>
    public HeadersOverride? HeadersOverride { get; init; }

    /// <summary><c>timeout</c>: this target's timeouts, over the model's. Default: the model's.</summary>
    public TargetTimeouts Timeouts { get; init; } = TargetTimeouts.None;
}

/// <summary><c>retry_config</c> of a target (TrueFoundry's defaults).</summary>
public sealed record RetryConfig
{
    /// <summary>Statuses retried when <c>on_status_codes</c> is not set.</summary>
    public static readonly IReadOnlyList<int> DefaultOnStatusCodes = [429, 500, 502, 503];

    /// <summary><c>attempts</c>: retries after the first try (so at most 1 + attempts tries). Default: 2.</summary>
    public int Attempts { get; init; } = 2;

    /// <summary><c>delay</c>: pause before each retry. Default: 100 ms.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>on_status_codes</c>: upstream statuses retried on the same target. Default: <see cref="DefaultOnStatusCodes"/>.</summary>
    public IReadOnlyList<int> OnStatusCodes { get; init; } = DefaultOnStatusCodes;
}

/// <summary><c>headers_override</c>: applied to the upstream request after the account's headers.</summary>
/// <param name="Set">Headers set (replacing the account's of the same name).</param>
/// <param name="Remove">Header names removed.</param>
public sealed record HeadersOverride(IReadOnlyDictionary<string, string> Set, IReadOnlyList<string> Remove);

/// <summary>Timeouts of one attempt; null means "the model's, else the router's".</summary>
/// <param name="Connect">Opening the TCP (and TLS) connection.</param>
/// <param name="Total">The whole attempt, headers and body.</param>
/// <param name="StreamIdle">The longest silence between two reads of a stream (also the wait for headers).</param>
public sealed record TargetTimeouts(TimeSpan? Connect, TimeSpan? Total, TimeSpan? StreamIdle)
{
    /// <summary>No override.</summary>
    public static readonly TargetTimeouts None = new(null, null, null);
}

/// <summary><c>sticky_routing</c>: requests of one session reach the same target until the TTL ends or the target fails.</summary>
/// <param name="Ttl">How long a session keeps its target (<c>ttl_seconds</c>; default 3600 s), refreshed on each success.</param>
/// <param name="SessionIdentifiers">What identifies a session; every identifier must be present for the request to be sticky.</param>
public sealed record StickyRouting(TimeSpan Ttl, IReadOnlyList<SessionIdentifier> SessionIdentifiers);

/// <summary>One <c>session_identifiers</c> entry.</summary>
/// <param name="Source"><c>headers</c> or <c>metadata</c> (<c>x-gateway-metadata</c>).</param>
/// <param name="Key">Header name or metadata key.</param>
public sealed record SessionIdentifier(string Source, string Key);

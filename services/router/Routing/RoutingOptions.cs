namespace Gateway.Aspire.Router.Routing;

/// <summary>Routing and resilience settings, bound from the <c>Router:Routing</c> configuration section.</summary>
public sealed record RoutingOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:Routing";

    /// <summary>How far back latency-based routing and SLA cutoffs look. Default: 20 minutes.</summary>
    public TimeSpan LatencyWindow { get; init; } = TimeSpan.FromMinutes(20);

    /// <summary>Most samples kept per target inside the window (the newest). Default: 100.</summary>
    public int LatencyMaxSamples { get; init; } = 100;

    /// <summary>A target with fewer samples than this in the window is probed before the fastest is chosen. Default: 3.</summary>
    public int LatencyMinSamples { get; init; } = 3;

    /// <summary>How long a replica reuses what it read from Redis about a target's latency. Default: 1 second.</summary>
    public TimeSpan LatencyRefreshInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Failures in the sampling window that open a target's circuit (with <see cref="CircuitFailureRatio"/>). Default: 5.</summary>
    public int CircuitFailureThreshold { get; init; } = 5;

    /// <summary>
    /// Share of failed attempts in the sampling window that opens the circuit, once
    /// <see cref="CircuitFailureThreshold"/> attempts were seen. Default: 1.0, so 5 failures with no
    /// success in between (the window) open it.
    /// </summary>
    public double CircuitFailureRatio { get; init; } = 1.0;

    /// <summary>The window failures are counted in. Default: 60 seconds.</summary>
    public TimeSpan CircuitSamplingDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an open circuit skips its target before one probe is let through. Default: 60 seconds.</summary>
    public TimeSpan CircuitBreakDuration { get; init; } = TimeSpan.FromSeconds(60);
}

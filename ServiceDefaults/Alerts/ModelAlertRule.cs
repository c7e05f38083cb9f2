namespace Gateway.Aspire.ServiceDefaults.Alerts;

/// <summary>One rule of a <c>gateway-alerts-config</c> document: an error-rate and/or latency alert per model.</summary>
public sealed record ModelAlertRule
{
    /// <summary>Unique id; names the alert. Required.</summary>
    public required string Id { get; init; }

    /// <summary><c>models</c>: the served models (<c>&lt;account&gt;/&lt;model&gt;</c>) watched. Default: empty, every model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary><c>error_rate_above_percent</c>: alert when more than this share of calls failed (status ≥ 500). Optional.</summary>
    public decimal? ErrorRateAbovePercent { get; init; }

    /// <summary>
    /// <c>p95_latency_above_ms</c>: alert when the 95th percentile latency is above this (time to first
    /// token for streams, total time otherwise). Optional; a rule sets at least one of the two.
    /// </summary>
    public double? P95LatencyAboveMs { get; init; }

    /// <summary><c>window_minutes</c>: the trailing window measured. Default: 5.</summary>
    public int WindowMinutes { get; init; } = 5;

    /// <summary><c>min_requests</c>: fewer calls in the window decide nothing (one failure of two is not an outage). Default: 20.</summary>
    public int MinRequests { get; init; } = 20;

    /// <summary><c>notification_target</c> as the alert queue carries it (JSON). Required, at least one.</summary>
    public string TargetsJson { get; init; } = "[]";

    /// <summary>Where the rule is written (file or origin, document, rule), for messages about it.</summary>
    public string Source { get; init; } = "";

    /// <summary>Whether <paramref name="model"/> is watched.</summary>
    public bool Watches(string model) => Models.Count == 0 || Models.Contains(model, StringComparer.Ordinal);
}

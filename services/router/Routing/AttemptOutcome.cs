using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Routing;

/// <summary>How one upstream attempt ended.</summary>
internal enum AttemptKind
{
    /// <summary>The answer reached the client whole.</summary>
    Succeeded,

    /// <summary>Failed before anything reached the client: an error status, unreachable, timed out. Counts against the target.</summary>
    Failed,

    /// <summary>The upstream refused this request (a 4xx other than 401/403/429): the request's fault, not the target's.</summary>
    Rejected,

    /// <summary>The target cannot express this request (a translation limit): try another, nothing counted.</summary>
    Unservable,

    /// <summary>The stream broke after the client got its first bytes: ended with an error event; counts against the target.</summary>
    BrokeMidStream,
}

/// <summary>
/// What an attempt reports to the attempt loop: whether to retry, fall back or stop, and, for a
/// failure not yet written, the error the client gets if no other attempt follows.
/// </summary>
/// <param name="Kind">How it ended.</param>
/// <param name="UpstreamStatus">The upstream's HTTP status, 0 when it did not answer (unreachable, timeout).</param>
/// <param name="Error">The client's error, when <paramref name="Kind"/> is Failed, Rejected or Unservable.</param>
/// <param name="RetryAfter">The upstream's Retry-After on a 429, which takes the target out of rotation that long.</param>
/// <param name="Headers">Upstream headers the client gets with <paramref name="Error"/> (Retry-After, x-ratelimit-*).</param>
/// <param name="TimedOut">The attempt hit a timeout (it is not retried on the same target: it already cost the full wait).</param>
internal readonly record struct AttemptOutcome(
    AttemptKind Kind,
    int UpstreamStatus = 0,
    MappedError? Error = null,
    TimeSpan? RetryAfter = null,
    KeyValuePair<string, string[]>[]? Headers = null,
    bool TimedOut = false)
{
    /// <summary>A completed answer.</summary>
    public static AttemptOutcome Success { get; } = new(AttemptKind.Succeeded);

    /// <summary>Whether the circuit breaker counts this attempt as a failure of its target.</summary>
    public bool CountsAsFailure => Kind is AttemptKind.Failed or AttemptKind.BrokeMidStream;

    /// <summary>Whether the client has seen bytes of this attempt (no other attempt may follow).</summary>
    public bool Started => Kind is AttemptKind.Succeeded or AttemptKind.BrokeMidStream;
}

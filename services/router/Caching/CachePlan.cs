namespace Gateway.Aspire.Router.Caching;

/// <summary>What the response cache does for one request.</summary>
/// <param name="Read">Look the answer up (false for <c>Cache-Control: no-cache</c>).</param>
/// <param name="Write">Keep the upstream's answer (false for <c>no-store</c>).</param>
/// <param name="Ttl">How long a written answer lives.</param>
internal readonly record struct CachePlan(bool Read, bool Write, TimeSpan Ttl)
{
    /// <summary>Caching does not apply: no lookup, no write, no <c>x-gateway-cache</c> header.</summary>
    public static CachePlan Off => default;

    /// <summary>Whether the cache takes part in this request at all (and the answer says HIT or MISS).</summary>
    public bool Applies => Read || Write;
}

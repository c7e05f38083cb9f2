namespace Gateway.Aspire.Router.Caching;

/// <summary>One request's business with the cache: its key and what it may do (read, write, for how long).</summary>
/// <param name="Key">Where its answer lives.</param>
/// <param name="Plan">Whether to read and write, and the TTL of a write.</param>
internal sealed record CacheLookup(CacheKey Key, CachePlan Plan);

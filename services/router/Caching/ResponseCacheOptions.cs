namespace Gateway.Aspire.Router.Caching;

/// <summary>Response cache settings, bound from the <c>Router:ResponseCache</c> configuration section.</summary>
/// <remarks>
/// Whether a request is cached at all is decided per model (<c>cache</c> in <c>gateway.yaml</c>)
/// and per request (<c>x-gateway-cache-ttl</c>, <c>Cache-Control</c>); these are the limits of the store.
/// </remarks>
public sealed record ResponseCacheOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Router:ResponseCache";

    /// <summary>Largest answer kept, in bytes; a larger one is relayed but not cached. Default: 1 MiB.</summary>
    public int MaxEntryBytes { get; init; } = 1 << 20;

    /// <summary>Answers kept in the in-process LRU in front of Redis. Default: 1000.</summary>
    public int MemoryEntries { get; init; } = 1000;

    /// <summary>
    /// Bytes the in-process LRU may hold in total, so 1000 large answers cannot take a gigabyte.
    /// Default: 64 MiB.
    /// </summary>
    public long MemoryBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Longest wait for Redis on a lookup or a write; slower is a miss (the request goes upstream),
    /// never a failure. Default: 250 ms.
    /// </summary>
    public TimeSpan RedisTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Prefix of every Redis key the cache writes. Default: <c>gw:cache:</c>.</summary>
    public string KeyPrefix { get; init; } = "gw:cache:";
}

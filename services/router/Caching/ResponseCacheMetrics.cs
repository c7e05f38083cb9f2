using System.Diagnostics.Metrics;

namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// Response cache counters on the <c>Gateway.Aspire.Router.ResponseCache</c> meter (exported by
/// ServiceDefaults with every <c>Gateway.Aspire.*</c> meter): the hit rate, and how often the
/// in-process LRU saves a Redis round trip.
/// </summary>
internal sealed class ResponseCacheMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Gateway.Aspire.Router.ResponseCache";

    private readonly Counter<long> _lookups;
    private readonly Counter<long> _stores;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    public ResponseCacheMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _lookups = meter.CreateCounter<long>("gateway.cache.lookups", "{lookup}",
            "Response cache lookups, by result (hit, miss) and, for hits, source (memory, redis).");
        _stores = meter.CreateCounter<long>("gateway.cache.stores", "{answer}",
            "Answers offered to the response cache, by outcome (stored, memory_only, skipped).");
    }

    /// <summary>Counts a lookup; <paramref name="source"/> is <c>memory</c> or <c>redis</c> for a hit, null for a miss.</summary>
    public void Lookup(string? source)
    {
        if (source is null)
        {
            _lookups.Add(1, new KeyValuePair<string, object?>("result", "miss"));
        }
        else
        {
            _lookups.Add(1, new KeyValuePair<string, object?>("result", "hit"), new KeyValuePair<string, object?>("source", source));
        }
    }

    /// <summary>Counts an answer offered to the cache: <c>stored</c>, <c>memory_only</c> (Redis unavailable) or <c>skipped</c>.</summary>
    public void Store(string outcome) => _stores.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}

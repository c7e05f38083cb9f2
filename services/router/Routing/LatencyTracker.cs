using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// Time per output token (TPOT) of each target over the recent window, shared by replicas through
/// <see cref="IRoutingStateStore"/>. Reads are cached per target for
/// <see cref="RoutingOptions.LatencyRefreshInterval"/>, so a routed request costs at most one
/// store read per target a second, and this replica's own samples count at once.
/// </summary>
internal sealed class LatencyTracker(IRoutingStateStore store, IOptions<RoutingOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);

    /// <summary>Records a successful attempt's TPOT.</summary>
    public void Record(string target, double tpotMs)
    {
        if (!double.IsFinite(tpotMs) || tpotMs < 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        store.AddSample(target, now, tpotMs, options.Value);
        // This replica's own sample counts before the next refresh: a probe is not repeated needlessly.
        _cache.AddOrUpdate(target, _ => new Entry(new TpotStats(tpotMs, 1), DateTimeOffset.MinValue),
            (_, old) => old with { Stats = new TpotStats((old.Stats.AverageMs * old.Stats.Samples + tpotMs) / (old.Stats.Samples + 1), old.Stats.Samples + 1) });
    }

    /// <summary>The target's TPOT over the window: cached, refreshed from the store when stale.</summary>
    public async ValueTask<TpotStats> GetAsync(string target)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(target, out var entry) && now - entry.ReadAt < options.Value.LatencyRefreshInterval)
        {
            return entry.Stats;
        }

        var stats = await store.ReadAsync(target, now - options.Value.LatencyWindow);
        _cache[target] = new Entry(stats, now);
        return stats;
    }

    /// <summary>Samples below which a target is probed before the fastest is chosen.</summary>
    public int MinSamples => options.Value.LatencyMinSamples;

    /// <summary>The last known TPOT without touching the store (admin views).</summary>
    public TpotStats Peek(string target) => _cache.TryGetValue(target, out var entry) ? entry.Stats : default;

    private sealed record Entry(TpotStats Stats, DateTimeOffset ReadAt);
}

using System.Globalization;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Routing;

/// <summary>Average time per output token of one target over the latency window.</summary>
/// <param name="AverageMs">Mean of the samples, 0 when there are none.</param>
/// <param name="Samples">How many samples the window holds.</param>
internal readonly record struct TpotStats(double AverageMs, int Samples);

/// <summary>
/// The routing state replicas share: latency samples and sticky sessions. Redis when the router
/// has a <c>redis</c> connection string (every replica sees the same), else this process only.
/// </summary>
internal interface IRoutingStateStore
{
    /// <summary>Adds a time-per-output-token sample of <paramref name="target"/>; not awaited by the request.</summary>
    void AddSample(string target, DateTimeOffset at, double tpotMs, RoutingOptions options);

    /// <summary>The samples of <paramref name="target"/> taken at or after <paramref name="since"/>.</summary>
    Task<TpotStats> ReadAsync(string target, DateTimeOffset since);

    /// <summary>The target a sticky session is bound to, or null.</summary>
    Task<string?> GetStickyAsync(string key);

    /// <summary>Binds (or re-binds, refreshing the TTL) a sticky session.</summary>
    Task SetStickyAsync(string key, string target, TimeSpan ttl);

    /// <summary>Unbinds a sticky session (its target failed); not awaited by the request.</summary>
    void ClearSticky(string key);
}

/// <summary>
/// Routing state in Redis: a sorted set of samples per target (score: time in ms, so a window is a
/// range and old samples are trimmed by score and by rank) and a string per sticky session with a TTL.
/// </summary>
internal sealed class RedisRoutingStateStore(IConnectionMultiplexer redis) : IRoutingStateStore
{
    private const string SamplePrefix = "router:tpot:";
    private const string StickyPrefix = "router:sticky:";

    /// <inheritdoc />
    public void AddSample(string target, DateTimeOffset at, double tpotMs, RoutingOptions options)
    {
        var key = (RedisKey)(SamplePrefix + target);
        var ms = at.ToUnixTimeMilliseconds();
        // Unique member per sample: two replicas may record the same value in the same millisecond.
        var member = string.Create(CultureInfo.InvariantCulture, $"{tpotMs:R}|{ms}|{Random.Shared.Next():x}");
        var batch = redis.GetDatabase().CreateBatch();
        _ = batch.SortedSetAddAsync(key, member, ms, CommandFlags.FireAndForget);
        _ = batch.SortedSetRemoveRangeByScoreAsync(key, double.NegativeInfinity, ms - options.LatencyWindow.TotalMilliseconds, Exclude.Stop, CommandFlags.FireAndForget);
        _ = batch.SortedSetRemoveRangeByRankAsync(key, 0, -options.LatencyMaxSamples - 1, CommandFlags.FireAndForget);
        _ = batch.KeyExpireAsync(key, options.LatencyWindow, CommandFlags.FireAndForget);
        batch.Execute();
    }

    /// <inheritdoc />
    public async Task<TpotStats> ReadAsync(string target, DateTimeOffset since)
    {
        RedisValue[] members;
        try
        {
            members = await redis.GetDatabase().SortedSetRangeByScoreAsync(SamplePrefix + target, since.ToUnixTimeMilliseconds());
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Routing degrades to "no data" (targets get probed) rather than failing requests.
            return default;
        }

        double sum = 0;
        var count = 0;
        foreach (var member in members)
        {
            var text = member.ToString();
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            if (bar > 0 && double.TryParse(text.AsSpan(0, bar), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum += value;
                count++;
            }
        }

        return new TpotStats(count == 0 ? 0 : sum / count, count);
    }

    /// <inheritdoc />
    public async Task<string?> GetStickyAsync(string key)
    {
        try
        {
            return await redis.GetDatabase().StringGetAsync(StickyPrefix + key) is { HasValue: true } value ? value.ToString() : null;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return null; // without Redis a session is simply not sticky
        }
    }

    /// <inheritdoc />
    public async Task SetStickyAsync(string key, string target, TimeSpan ttl)
    {
        try
        {
            await redis.GetDatabase().StringSetAsync(StickyPrefix + key, target, ttl);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Without Redis a session is simply not sticky; the answer still goes out.
        }
    }

    /// <inheritdoc />
    public void ClearSticky(string key) => redis.GetDatabase().KeyDelete(StickyPrefix + key, CommandFlags.FireAndForget);
}

/// <summary>Routing state of this process only, for a router without Redis (one replica, tests).</summary>
internal sealed class InMemoryRoutingStateStore(TimeProvider time) : IRoutingStateStore
{
    private readonly Dictionary<string, List<(DateTimeOffset At, double Tpot)>> _samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Target, DateTimeOffset Expires)> _sticky = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <inheritdoc />
    public void AddSample(string target, DateTimeOffset at, double tpotMs, RoutingOptions options)
    {
        lock (_lock)
        {
            if (!_samples.TryGetValue(target, out var list))
            {
                _samples[target] = list = [];
            }

            list.Add((at, tpotMs));
            list.RemoveAll(s => s.At < at - options.LatencyWindow);
            if (list.Count > options.LatencyMaxSamples)
            {
                list.RemoveRange(0, list.Count - options.LatencyMaxSamples);
            }
        }
    }

    /// <inheritdoc />
    public Task<TpotStats> ReadAsync(string target, DateTimeOffset since)
    {
        lock (_lock)
        {
            var window = _samples.TryGetValue(target, out var list) ? list.Where(s => s.At >= since).ToList() : [];
            return Task.FromResult(new TpotStats(window.Count == 0 ? 0 : window.Average(s => s.Tpot), window.Count));
        }
    }

    /// <inheritdoc />
    public Task<string?> GetStickyAsync(string key)
    {
        lock (_lock)
        {
            return Task.FromResult(_sticky.TryGetValue(key, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Target : null);
        }
    }

    /// <inheritdoc />
    public Task SetStickyAsync(string key, string target, TimeSpan ttl)
    {
        lock (_lock)
        {
            _sticky[key] = (target, time.GetUtcNow() + ttl);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void ClearSticky(string key)
    {
        lock (_lock)
        {
            _sticky.Remove(key);
        }
    }
}

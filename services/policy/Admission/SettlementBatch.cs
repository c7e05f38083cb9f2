using System.Globalization;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.RateLimiting;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// Any number of settlements (token reservations moved to the tokens used, budget reservations to
/// the actual cost) applied by one Lua script: one Redis round trip for a whole batch, atomic, and
/// with a batch id at most once (a <c>SET NX</c> marker, <see cref="MarkerPrefix"/>, decides inside
/// the same script, so a retried batch whose first attempt did land changes nothing).
/// </summary>
/// <remarks>
/// Reservation handles are parsed here, not in Lua: a malformed one is skipped (not settled) without
/// costing Redis anything, and a zero delta (the estimate was exact) needs no write and counts as
/// settled. A token settlement adds its delta to the bucket it was counted in, only while that bucket
/// still counts (<see cref="SlidingWindowScripts"/>); a budget settlement to each of its counters that
/// still exists. Not thread-safe: one batch per call.
/// </remarks>
internal sealed class SettlementBatch
{
    /// <summary>Prefix of the at-most-once markers of batch ids.</summary>
    public const string MarkerPrefix = "policy:settled:";

    /// <summary>
    /// How long a batch id is remembered: far longer than a sender retries one batch
    /// (the router gives up after <c>Router:SettleRetryLimit</c>, 10 minutes by default).
    /// </summary>
    public static readonly TimeSpan MarkerLifetime = TimeSpan.FromHours(1);

    // KEYS: the marker, each token item's counter, each budget item's counters in order.
    // ARGV: marker lifetime in ms ('' without a marker), now, buckets, token item count, then per token
    // item (window ms, bucket, delta), then the budget item count, then per budget item (keys, delta).
    private const string Script = """
        if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
          return -1
        end
        local now = tonumber(ARGV[2])
        local buckets = tonumber(ARGV[3])
        local settled = 0
        local a, k = 5, 2
        for i = 1, tonumber(ARGV[4]) do
          local width = tonumber(ARGV[a]) / buckets
          local bucket = tonumber(ARGV[a + 1])
          if bucket >= math.floor(now / width) - buckets then
            local field = string.format('%d', bucket)
            if redis.call('HEXISTS', KEYS[k], field) == 1 then
              if redis.call('HINCRBY', KEYS[k], field, ARGV[a + 2]) <= 0 then
                redis.call('HDEL', KEYS[k], field)
              end
              settled = settled + 1
            end
          end
          a, k = a + 3, k + 1
        end
        local budgets = tonumber(ARGV[a])
        a = a + 1
        for i = 1, budgets do
          local moved = 0
          for j = 1, tonumber(ARGV[a]) do
            if redis.call('EXISTS', KEYS[k]) == 1 then
              redis.call('INCRBY', KEYS[k], ARGV[a + 1])
              moved = 1
            end
            k = k + 1
          end
          settled = settled + moved
          a = a + 2
        end
        return settled
        """;

    private readonly List<RedisKey> _tokenKeys = [];
    private readonly List<RedisValue> _tokenArgs = [];
    private readonly List<RedisKey> _budgetKeys = [];
    private readonly List<RedisValue> _budgetArgs = [];
    private int _budgetItems;

    /// <summary>Settlements whose delta is zero: settled without a write.</summary>
    public int Exact { get; private set; }

    /// <summary>Whether nothing needs Redis.</summary>
    public bool IsEmpty => _tokenKeys.Count == 0 && _budgetItems == 0;

    /// <summary>
    /// Adds a token reservation (<see cref="RateLimiter"/>'s handle, <c>bucket:window:reserved:key</c>)
    /// settled to <paramref name="actualTokens"/>; false when the handle is empty or malformed.
    /// </summary>
    public bool AddTokens(string reservation, long actualTokens)
    {
        var parts = reservation.Split(':', 4);
        if (parts.Length != 4
            || !long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bucket)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var windowMs)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var reserved)
            || !parts[3].StartsWith(RateLimiter.KeyPrefix, StringComparison.Ordinal)
            || windowMs <= 0)
        {
            return false;
        }

        var delta = Math.Max(0, actualTokens) - reserved;
        if (delta == 0)
        {
            Exact++;
            return true;
        }

        _tokenKeys.Add(parts[3]);
        _tokenArgs.Add(windowMs);
        _tokenArgs.Add(bucket);
        _tokenArgs.Add(delta);
        return true;
    }

    /// <summary>
    /// Adds a budget reservation (<see cref="BudgetCounters"/>' handle: the reserved nano-USD, then each
    /// counter key, newline-separated) settled to <paramref name="actualCostNanoUsd"/>; false when the
    /// handle is empty or malformed.
    /// </summary>
    public bool AddCost(string reservation, long actualCostNanoUsd)
    {
        var parts = reservation.Split('\n');
        if (parts.Length < 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var reserved))
        {
            return false;
        }

        for (var i = 1; i < parts.Length; i++)
        {
            if (!parts[i].StartsWith(BudgetCounters.KeyPrefix, StringComparison.Ordinal))
            {
                return false;
            }
        }

        var delta = Math.Max(0, actualCostNanoUsd) - reserved;
        if (delta == 0)
        {
            Exact++;
            return true;
        }

        for (var i = 1; i < parts.Length; i++)
        {
            _budgetKeys.Add(parts[i]);
        }

        _budgetItems++;
        _budgetArgs.Add(parts.Length - 1);
        // A string, not a Lua number: INCRBY takes it as it is (a Lua number would turn 1e15 into "1e+15").
        _budgetArgs.Add(delta.ToString(CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>
    /// Applies the batch: the number of reservations settled (those that needed no write included), or
    /// null when <paramref name="batchId"/> was applied before and nothing was done. Without a batch id
    /// (a single Settle) the batch is applied unconditionally. A batch that changes nothing costs no
    /// round trip (and leaves no marker: applying it again changes nothing either).
    /// </summary>
    public async Task<long?> ApplyAsync(IDatabase redis, DateTimeOffset now, string? batchId)
    {
        if (IsEmpty)
        {
            return Exact;
        }

        var keys = new RedisKey[1 + _tokenKeys.Count + _budgetKeys.Count];
        keys[0] = batchId is null ? MarkerPrefix : MarkerPrefix + batchId;
        _tokenKeys.CopyTo(keys, 1);
        _budgetKeys.CopyTo(keys, 1 + _tokenKeys.Count);

        var args = new RedisValue[4 + _tokenArgs.Count + 1 + _budgetArgs.Count];
        args[0] = batchId is null ? "" : (long)MarkerLifetime.TotalMilliseconds;
        args[1] = now.ToUnixTimeMilliseconds();
        args[2] = RateLimiter.Buckets;
        args[3] = _tokenKeys.Count;
        _tokenArgs.CopyTo(args, 4);
        args[4 + _tokenArgs.Count] = _budgetItems;
        _budgetArgs.CopyTo(args, 5 + _tokenArgs.Count);

        var settled = (long)await redis.ScriptEvaluateAsync(Script, keys, args);
        return settled < 0 ? null : settled + Exact;
    }
}

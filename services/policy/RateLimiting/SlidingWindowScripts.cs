using StackExchange.Redis;

namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>
/// The two Lua scripts behind rate limits: one atomic admission (check and reserve) and one settle.
/// </summary>
/// <remarks>
/// <para>Algorithm: a sliding window of <c>N + 1</c> buckets, each <c>window / N</c> wide (N =
/// <see cref="RateLimiter.Buckets"/>), kept in one Redis hash (field = bucket number, value = units
/// admitted in it). A call is admitted when the units of the live buckets plus its cost fit the
/// limit. A unit stops counting when its bucket leaves the window, between <c>window</c> and
/// <c>window + window/N</c> after it was admitted.</para>
/// <para>Error bound: never more than <c>limit</c> units are admitted in any interval of length
/// <c>window</c> (when the last of them was admitted, all the others were still counted, since each
/// counts for at least <c>window</c>). The only error is on the safe side: capacity comes back up to
/// <c>window/N</c> late (1 s for a minute, 1 min for an hour, 24 min for a day). Token limits add the
/// estimate error: a call's reservation is settled to actual usage afterwards, so a call that used
/// more than it reserved can push its window over by that difference.</para>
/// <para>"Now" is an argument, not Redis <c>TIME</c>: the policy replicas' clock (an injected
/// <see cref="TimeProvider"/>) decides, which lets tests drive windows with a fake clock. Replicas'
/// clocks must agree to well under a bucket width (NTP does).</para>
/// <para><see cref="LuaScript"/> sends EVALSHA once the script is known to the server and falls back
/// to EVAL after a server restart flushed its script cache; one round trip per admission.</para>
/// </remarks>
internal static class SlidingWindowScripts
{
    /// <summary>
    /// Returns <c>{allowed (0/1), used (after this call), reset_ms, retry_after_ms (-1: never fits), bucket}</c>.
    /// </summary>
    public static readonly LuaScript Admit = LuaScript.Prepare("""
        local now = tonumber(@now)
        local limit = tonumber(@limit)
        local window = tonumber(@window)
        local buckets = tonumber(@buckets)
        local cost = tonumber(@cost)
        local width = window / buckets
        local current = math.floor(now / width)
        local oldest = current - buckets
        local raw = redis.call('HGETALL', @key)
        local used = 0
        local live = {}
        local stale = {}
        for i = 1, #raw, 2 do
          local b = tonumber(raw[i])
          if b < oldest then
            stale[#stale + 1] = raw[i]
          else
            local c = tonumber(raw[i + 1])
            used = used + c
            live[#live + 1] = { b, c }
          end
        end
        if #stale > 0 then
          redis.call('HDEL', @key, unpack(stale))
        end
        table.sort(live, function(x, y) return x[1] < y[1] end)
        local allowed = 0
        if used + cost <= limit then
          allowed = 1
          redis.call('HINCRBY', @key, string.format('%d', current), cost)
          redis.call('PEXPIRE', @key, math.ceil(window + 2 * width))
          used = used + cost
          if #live > 0 and live[#live][1] == current then
            live[#live][2] = live[#live][2] + cost
          else
            live[#live + 1] = { current, cost }
          end
        end
        -- Bucket b stops counting at (b + buckets + 1) * width.
        local reset = 0
        if #live > 0 then
          reset = (live[#live][1] + buckets + 1) * width - now
        end
        local retry = 0
        if allowed == 0 then
          if cost > limit then
            retry = -1
          else
            local need = used + cost - limit
            local freed = 0
            for i = 1, #live do
              freed = freed + live[i][2]
              if freed >= need then
                retry = (live[i][1] + buckets + 1) * width - now
                break
              end
            end
          end
        end
        return { allowed, used, math.ceil(reset), math.ceil(retry), current }
        """);

    /// <summary>Adds <c>delta</c> to the reservation's bucket if it still counts; returns 1 when it did.</summary>
    public static readonly LuaScript Settle = LuaScript.Prepare("""
        local now = tonumber(@now)
        local window = tonumber(@window)
        local buckets = tonumber(@buckets)
        local bucket = tonumber(@bucket)
        local width = window / buckets
        if bucket < math.floor(now / width) - buckets then
          return 0
        end
        local field = string.format('%d', bucket)
        if redis.call('HEXISTS', @key, field) == 0 then
          return 0
        end
        local value = redis.call('HINCRBY', @key, field, tonumber(@delta))
        if value <= 0 then
          redis.call('HDEL', @key, field)
        end
        return 1
        """);
}

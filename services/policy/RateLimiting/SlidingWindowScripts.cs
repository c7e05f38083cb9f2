using StackExchange.Redis;

namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>
/// The sliding window behind rate limits, and the script that settles a token reservation. The
/// admission half runs inside <see cref="Admission.AdmissionScript"/>, together with the budgets.
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
/// <para>StackExchange.Redis sends EVALSHA once a script is known to the server and falls back to
/// EVAL after a server restart flushed its script cache; one round trip per admission.</para>
/// </remarks>
internal static class SlidingWindowScripts
{
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

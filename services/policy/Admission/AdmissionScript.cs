using System.Globalization;
using Gateway.Aspire.ServiceDefaults.Alerts;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>The rate-limit part of one admission: the rule's counter and what the call costs it.</summary>
/// <param name="Key">The sliding-window hash.</param>
/// <param name="Limit">Units per window.</param>
/// <param name="WindowMs">The window.</param>
/// <param name="Buckets">Buckets per window.</param>
/// <param name="Cost">Units this call counts.</param>
internal sealed record RateLimitCharge(string Key, long Limit, long WindowMs, int Buckets, long Cost);

/// <summary>One budget counter an admission reserves against.</summary>
/// <param name="Key">The period's counter (a Redis string of nano-USD).</param>
/// <param name="LimitNanoUsd">The budget.</param>
/// <param name="Enforced">Whether an exhausted budget refuses the call (else it only counts).</param>
/// <param name="ExpiresAt">When the counter may go: a day after its period ends, so late settlements still find it.</param>
/// <param name="Alert">What the script needs to queue this budget's alerts.</param>
internal sealed record BudgetCharge(string Key, long LimitNanoUsd, bool Enforced, DateTimeOffset ExpiresAt, BudgetAlertCharge Alert);

/// <summary>The alert part of a <see cref="BudgetCharge"/>.</summary>
/// <param name="Levels">"<c>percent level notify</c>" triples, space-separated: each threshold's spend in nano-USD and whether its targets are told (100 is always present: the exceeded event).</param>
/// <param name="Rule">The budget's id.</param>
/// <param name="Scope">The <c>budget_applies_per</c> values, readable; empty for a rule-wide budget.</param>
/// <param name="TargetsJson">The rule's notification targets as JSON.</param>
/// <param name="PeriodEnd">When the period ends.</param>
internal sealed record BudgetAlertCharge(string Levels, string Rule, string Scope, string TargetsJson, DateTimeOffset PeriodEnd);

/// <summary>What <see cref="AdmissionScript.RunAsync"/> found and did.</summary>
/// <param name="RateLimitFits">Whether the call fit the rate limit (true without one).</param>
/// <param name="RateLimitUsed">Units counted in the window, this call included when admitted.</param>
/// <param name="RateLimitResetMs">Until the window's counter is back to the full limit.</param>
/// <param name="RateLimitRetryMs">For a call that did not fit: until it would; -1 when it never can.</param>
/// <param name="RateLimitBucket">The bucket the call was counted in.</param>
/// <param name="BlockedBudget">Index of the enforced budget the call would exceed, or -1.</param>
/// <param name="SpentBefore">Each budget counter before this call, in nano-USD.</param>
internal sealed record AdmissionScriptResult(
    bool RateLimitFits, long RateLimitUsed, long RateLimitResetMs, long RateLimitRetryMs, long RateLimitBucket, int BlockedBudget, long[] SpentBefore)
{
    /// <summary>Whether the call was admitted and counted everywhere.</summary>
    public bool Admitted => RateLimitFits && BlockedBudget < 0;
}

/// <summary>
/// The one Lua script of an admission: the rate-limit rule's sliding window (<see cref="RateLimiting.SlidingWindowScripts"/>
/// explains the algorithm and its error bound) and every budget counter the call touches are checked
/// first, and only if all of them allow the call is anything counted — one atomic step, one round trip.
/// The same step queues budget alerts on <see cref="AlertQueue.Stream"/>, once per threshold, counter
/// and period (a <c>SET NX</c> flag next to the counter, expiring with it).
/// </summary>
/// <remarks>
/// Keys and arguments vary in number (one key per budget that applies), so the script takes
/// <c>KEYS</c>/<c>ARGV</c> rather than <see cref="LuaScript"/>'s named parameters; StackExchange.Redis
/// still sends EVALSHA once the server knows the script and EVAL only after its script cache was
/// flushed (checked with Redis' INFO commandstats under the bench: one EVAL, then only EVALSHA).
/// An admitted call needs only the window's sum and newest bucket, so the buckets are sorted (for
/// the retry time) only when a call is refused: a third less Redis time per admission with a busy
/// window (docs/perf/README.md). Budget amounts are integer nano-USD strings handed to INCRBY as they are (a Lua number
/// would turn 1e15 into "1e+15"); comparisons in Lua are exact up to 2^53 nano-USD (~9 million USD).
/// The alert flags are derived from the counters' keys rather than passed in <c>KEYS</c>: fine on one
/// Redis (or a primary with replicas), not on Redis Cluster, which this script does not target anyway.
/// </remarks>
internal static class AdmissionScript
{
    private const string Script = """
        local now = tonumber(ARGV[1])
        local has_rl = ARGV[2] == '1'
        local offset = 0
        local fits, used, current = 1, 0, 0
        local limit, window, buckets, cost, width, oldest, raw
        local newest = -1
        local now_spent = {}
        if has_rl then
          offset = 1
          limit = tonumber(ARGV[3])
          window = tonumber(ARGV[4])
          buckets = tonumber(ARGV[5])
          cost = tonumber(ARGV[6])
          width = window / buckets
          current = math.floor(now / width)
          oldest = current - buckets
          raw = redis.call('HGETALL', KEYS[1])
          local stale = {}
          for i = 1, #raw, 2 do
            local b = tonumber(raw[i])
            if b < oldest then
              stale[#stale + 1] = raw[i]
            else
              used = used + tonumber(raw[i + 1])
              if b > newest then
                newest = b
              end
            end
          end
          if #stale > 0 then
            redis.call('HDEL', KEYS[1], unpack(stale))
          end
          if used + cost > limit then
            fits = 0
          end
        end
        local budget_cost = ARGV[7]
        local charge = tonumber(budget_cost)
        local count = tonumber(ARGV[8])
        local blocked = -1
        local spent = {}
        for i = 1, count do
          local s = tonumber(redis.call('GET', KEYS[offset + i]) or '0')
          spent[i] = s
          local a = 9 + (i - 1) * 8
          if blocked < 0 and ARGV[a + 1] == '1' and s + charge > tonumber(ARGV[a]) then
            blocked = i - 1
          end
        end
        if fits == 1 and blocked < 0 then
          if has_rl then
            redis.call('HINCRBY', KEYS[1], string.format('%d', current), cost)
            redis.call('PEXPIRE', KEYS[1], math.ceil(window + 2 * width))
            used = used + cost
            if current > newest then
              newest = current
            end
          end
          for i = 1, count do
            now_spent[i] = redis.call('INCRBY', KEYS[offset + i], budget_cost)
            redis.call('PEXPIREAT', KEYS[offset + i], ARGV[9 + (i - 1) * 8 + 2])
          end
        end
        -- Alerts: each level the counter has reached is raised once per counter (scope and period):
        -- SET NX decides, so concurrent calls, replicas and restarts never raise it twice, and a level
        -- reached through a settlement is raised by the next admission. A refusal by a hard budget
        -- is its 100 % level (exceeded).
        local alerts = KEYS[offset + count + 1]
        for i = 1, count do
          local a = 9 + (i - 1) * 8
          local reached = now_spent[i] or spent[i]
          for pct, level, notify in string.gmatch(ARGV[a + 3], '(%d+) (%d+) (%d)') do
            if tonumber(level) <= reached or (pct == '100' and blocked == i - 1) then
              -- BudgetCounters.AlertFlagPrefix: beside the counters, never matched by their prefix.
              local flag = string.gsub(KEYS[offset + i], '^policy:budget:', 'policy:budget-alert:', 1) .. ':' .. pct
              if redis.call('SET', flag, '1', 'NX') then
                redis.call('PEXPIREAT', flag, ARGV[a + 2])
                local kind = 'model.budget.warning'
                if pct == '100' then kind = 'model.budget.exceeded' end
                local targets = '[]'
                if notify == '1' then targets = ARGV[a + 6] end
                -- pcall: a server without streams (Redis before 5, some compatible servers) refuses
                -- XADD, and a script does not roll back, so an error here would fail an admission whose
                -- counters were already written. The alert cannot be queued there: the flag goes too,
                -- so nothing claims the level was raised, and the call is answered as usual.
                local queued = redis.pcall('XADD', alerts, 'MAXLEN', '~', ARGV[9 + count * 8], '*',
                  'kind', kind, 'rule', ARGV[a + 4], 'scope', ARGV[a + 5], 'threshold', pct,
                  'value', string.format('%d', reached), 'limit', ARGV[a], 'period_end', ARGV[a + 7],
                  'time', ARGV[1], 'targets', targets)
                if type(queued) == 'table' and queued.err then
                  redis.call('DEL', flag)
                end
              end
            end
          end
        end
        local reset, retry = 0, 0
        if has_rl then
          -- Bucket b stops counting at (b + buckets + 1) * width.
          if newest >= 0 then
            reset = (newest + buckets + 1) * width - now
          end
          if fits == 0 then
            if cost > limit then
              retry = -1
            else
              -- Only a refusal needs the buckets in order: the oldest free capacity first.
              local live = {}
              for i = 1, #raw, 2 do
                local b = tonumber(raw[i])
                if b >= oldest then
                  live[#live + 1] = { b, tonumber(raw[i + 1]) }
                end
              end
              table.sort(live, function(x, y) return x[1] < y[1] end)
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
        end
        local result = { fits, used, math.ceil(reset), math.ceil(retry), current, blocked }
        for i = 1, count do
          result[#result + 1] = spent[i]
        end
        return result
        """;

    /// <summary>Checks everything, then counts everything or nothing.</summary>
    public static async Task<AdmissionScriptResult> RunAsync(
        IDatabase redis, DateTimeOffset now, RateLimitCharge? rateLimit, IReadOnlyList<BudgetCharge> budgets, long budgetCostNanoUsd)
    {
        var keys = new RedisKey[(rateLimit is null ? 0 : 1) + budgets.Count + 1];
        var args = new RedisValue[8 + budgets.Count * 8 + 1];
        args[0] = now.ToUnixTimeMilliseconds();
        args[1] = rateLimit is null ? 0 : 1;
        var k = 0;
        if (rateLimit is not null)
        {
            keys[k++] = rateLimit.Key;
            args[2] = rateLimit.Limit;
            args[3] = rateLimit.WindowMs;
            args[4] = rateLimit.Buckets;
            args[5] = rateLimit.Cost;
        }
        else
        {
            args[2] = args[3] = args[4] = args[5] = 0;
        }

        args[6] = budgetCostNanoUsd.ToString(CultureInfo.InvariantCulture);
        args[7] = budgets.Count;
        for (var i = 0; i < budgets.Count; i++)
        {
            var (key, limit, enforced, expiresAt, alert) = budgets[i];
            keys[k++] = key;
            var a = 8 + i * 8;
            args[a] = limit;
            args[a + 1] = enforced ? 1 : 0;
            args[a + 2] = expiresAt.ToUnixTimeMilliseconds();
            args[a + 3] = alert.Levels;
            args[a + 4] = alert.Rule;
            args[a + 5] = alert.Scope;
            args[a + 6] = alert.TargetsJson;
            args[a + 7] = alert.PeriodEnd.ToUnixTimeMilliseconds();
        }

        keys[k] = AlertQueue.Stream;
        args[^1] = AlertQueue.MaxLength;

        var result = (RedisResult[])(await redis.ScriptEvaluateAsync(Script, keys, args))!;
        var spent = new long[budgets.Count];
        for (var i = 0; i < spent.Length; i++)
        {
            spent[i] = (long)result[6 + i];
        }

        return new AdmissionScriptResult((long)result[0] == 1, (long)result[1], (long)result[2], (long)result[3], (long)result[4], (int)(long)result[5], spent);
    }
}

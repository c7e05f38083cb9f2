using System.Globalization;
using System.Runtime.CompilerServices;
using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Billing;
using Gateway.Aspire.ServiceDefaults.Configuration;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.RateLimiting;

/// <summary>The verdict of the rule that applied.</summary>
/// <param name="Rule">The rule.</param>
/// <param name="Allowed">Whether the call fits.</param>
/// <param name="Remaining">Units left after this call.</param>
/// <param name="Reset">Until the counter is back to the full limit.</param>
/// <param name="RetryAfter">For a refused call: until it would fit; null when it never can (cost above the limit).</param>
/// <param name="Cost">Units this call counted (or would have).</param>
/// <param name="Reservation">Handle for <see cref="RateLimiter.SettleAsync"/> of an admitted token reservation, else empty.</param>
public sealed record RateLimitOutcome(
    RateLimitRule Rule, bool Allowed, long Remaining, TimeSpan Reset, TimeSpan? RetryAfter, long Cost, string Reservation);

/// <summary>
/// Applies the first matching rule with one atomic Redis script (<see cref="AdmissionScript"/>, which
/// also carries the budgets when <see cref="AdmissionCounters"/> runs it; <see cref="SlidingWindowScripts"/>
/// explains the window):
/// the check and the reservation happen together, so any number of policy replicas sharing Redis
/// admit exactly up to the limit.
/// </summary>
/// <remarks>The rules are read from the live configuration on every call, so a reload applies to the next admission.</remarks>
public sealed class RateLimiter(LiveConfig<PolicyRules> rules, IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>A limiter with fixed <paramref name="rules"/> (tests and tools without live configuration).</summary>
    public RateLimiter(RateLimitRules rules, IConnectionMultiplexer redis, TimeProvider time)
        : this(new LiveConfig<PolicyRules>(PolicyRules.None with { RateLimits = rules }), redis, time)
    {
    }

    /// <summary>Buckets per window: capacity comes back at most window/60 late (see <see cref="SlidingWindowScripts"/>).</summary>
    public const int Buckets = 60;

    /// <summary>Completion tokens reserved when the request sets no max_tokens and the model declares none. Settled to actual usage afterwards.</summary>
    public const long DefaultMaxTokens = CostReservation.DefaultMaxTokens;

    /// <summary>Redis key prefix of the counters.</summary>
    public const string KeyPrefix = "policy:rl:";

    /// <summary>The rules in force.</summary>
    public RateLimitRules Rules => rules.Current.RateLimits;

    /// <summary>Checks and counts the call against the first rule it matches; null when none does.</summary>
    public async Task<RateLimitOutcome?> AdmitAsync(AdmissionCall call)
    {
        if (Charge(call, Rules) is not { } charge)
        {
            return null;
        }

        var result = await AdmissionScript.RunAsync(redis.GetDatabase(), time.GetUtcNow(), charge.Charge, [], 0);
        return Outcome(charge.Rule, charge.Charge, result);
    }

    /// <summary>The first rule of <paramref name="rules"/> the call matches and what the call costs its counter; null when no rule matches.</summary>
    internal static (RateLimitRule Rule, RateLimitCharge Charge)? Charge(AdmissionCall call, RateLimitRules rules)
    {
        var rule = rules.FirstMatch(call.Subjects, call.Model, call.Metadata);
        if (rule is null)
        {
            return null;
        }

        // A token limit reserves the prompt once and max_tokens for each of the n completions asked for.
        var cost = rule.Unit.Kind == RateLimitKind.Requests
            ? 1
            : Math.Max(0, call.EstimatedPromptTokens) + (call.MaxTokens > 0 ? call.MaxTokens : DefaultMaxTokens) * Math.Max(1, call.Choices);
        return (rule, new RateLimitCharge(CounterKey(rule, call), rule.LimitTo, (long)rule.Unit.Window.TotalMilliseconds, Buckets, cost));
    }

    /// <summary>The rule's verdict from what the admission script found; a reservation only when the whole admission counted the call.</summary>
    internal static RateLimitOutcome Outcome(RateLimitRule rule, RateLimitCharge charge, AdmissionScriptResult result)
    {
        var reservation = result.Admitted && rule.Unit.Kind == RateLimitKind.Tokens
            ? string.Create(CultureInfo.InvariantCulture, $"{result.RateLimitBucket}:{charge.WindowMs}:{charge.Cost}:{charge.Key}")
            : "";
        return new RateLimitOutcome(
            rule,
            result.RateLimitFits,
            Math.Max(0, rule.LimitTo - result.RateLimitUsed),
            TimeSpan.FromMilliseconds(result.RateLimitResetMs),
            result.RateLimitFits ? TimeSpan.Zero : result.RateLimitRetryMs < 0 ? null : TimeSpan.FromMilliseconds(result.RateLimitRetryMs),
            charge.Cost,
            reservation);
    }

    /// <summary>
    /// Moves a token reservation to the tokens actually used (gives back the unused estimate, or adds
    /// what the estimate missed). False when the reservation is malformed or its bucket has left the window.
    /// </summary>
    public async Task<bool> SettleAsync(string reservation, long actualTokens)
    {
        var batch = new SettlementBatch();
        return batch.AddTokens(reservation, actualTokens) && await batch.ApplyAsync(redis.GetDatabase(), time.GetUtcNow(), batchId: null) > 0;
    }

    /// <summary>
    /// <c>policy:rl:&lt;rule&gt;:&lt;unit&gt;[:&lt;hash of the applies_per values&gt;]</c>. The unit is
    /// part of the key so a changed unit starts a fresh counter.
    /// </summary>
    internal static string CounterKey(RateLimitRule rule, AdmissionCall call) =>
        rule.AppliesPer.Count == 0
            ? s_ruleKeys.GetValue(rule, static r => KeyPrefix + r.Id + ":" + r.Unit.Name) // one counter for the rule: built once, not per admission
            : KeyPrefix + rule.Id + ":" + rule.Unit.Name + RuleScope.KeySuffix(rule.AppliesPer, rule.When.Subjects, call);

    // Rules are immutable and replaced whole by a configuration change: the key lives with the rule.
    private static readonly ConditionalWeakTable<RateLimitRule, string> s_ruleKeys = new();
}

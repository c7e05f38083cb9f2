using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// Rate limits and budgets of one admission in one Redis round trip (<see cref="AdmissionScript"/>):
/// the call is counted by the rate-limit rule and reserved against every budget it touches only if
/// all of them allow it, so neither a refused budget burns rate-limit capacity nor the reverse.
/// </summary>
public sealed class AdmissionCounters(RateLimiter rateLimiter, BudgetCounters budgets, IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>Whether any rate-limit rule or budget is configured.</summary>
    public bool Any => rateLimiter.Rules.Rules.Count > 0 || budgets.Budgets.Any;

    /// <summary>The rate limit's and the budgets' verdicts; each null when nothing of its kind applied.</summary>
    public async Task<(RateLimitOutcome? RateLimit, BudgetOutcome? Budget)> AdmitAsync(AdmissionCall call)
    {
        var now = time.GetUtcNow();
        var rateLimit = rateLimiter.Charge(call);
        var touches = budgets.Touches(call, now);
        if (rateLimit is null && touches.Count == 0)
        {
            return (null, null);
        }

        var cost = Math.Max(0, call.MaxCostNanoUsd);
        var result = await AdmissionScript.RunAsync(redis.GetDatabase(), now, rateLimit?.Charge, [.. touches.Select(t => t.Charge)], cost);
        return (
            rateLimit is { } applied ? RateLimiter.Outcome(applied.Rule, applied.Charge, result) : null,
            touches.Count == 0 ? null : BudgetCounters.Outcome(touches, result, cost));
    }

    /// <summary>Settles a rate-limit token reservation to <paramref name="actualTokens"/>; false when there is none or it expired.</summary>
    public Task<bool> SettleTokensAsync(string reservation, long actualTokens) =>
        reservation.Length == 0 ? Task.FromResult(false) : rateLimiter.SettleAsync(reservation, actualTokens);

    /// <summary>Settles a budget reservation to <paramref name="actualCostNanoUsd"/>; false when there is none or it expired.</summary>
    public Task<bool> SettleCostAsync(string reservation, long actualCostNanoUsd) =>
        reservation.Length == 0 ? Task.FromResult(false) : budgets.SettleAsync(reservation, actualCostNanoUsd);
}

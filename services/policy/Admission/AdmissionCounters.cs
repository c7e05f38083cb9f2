using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// Rate limits and budgets of one admission in one Redis round trip (<see cref="AdmissionScript"/>):
/// the call is counted by the rate-limit rule and reserved against every budget it touches only if
/// all of them allow it, so neither a refused budget burns rate-limit capacity nor the reverse.
/// </summary>
/// <remarks>
/// An admission reads the live rules once (<see cref="LiveConfig{T}.Current"/>): its rate limit and its
/// budgets come from the same configuration version even while a reload swaps it.
/// </remarks>
public sealed class AdmissionCounters(LiveConfig<PolicyRules> rules, RateLimiter rateLimiter, BudgetCounters budgets, IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>Counters with the fixed rules of <paramref name="rateLimiter"/> and <paramref name="budgets"/> (tests and tools without live configuration).</summary>
    public AdmissionCounters(RateLimiter rateLimiter, BudgetCounters budgets, IConnectionMultiplexer redis, TimeProvider time)
        : this(new LiveConfig<PolicyRules>(new PolicyRules(rateLimiter.Rules, budgets.Budgets)), rateLimiter, budgets, redis, time)
    {
    }

    /// <summary>Whether any rate-limit rule or budget is configured.</summary>
    public bool Any => rules.Current.Any;

    /// <summary>The rate limit's and the budgets' verdicts; each null when nothing of its kind applied.</summary>
    public async Task<(RateLimitOutcome? RateLimit, BudgetOutcome? Budget)> AdmitAsync(AdmissionCall call)
    {
        var now = time.GetUtcNow();
        var snapshot = rules.Current;
        var rateLimit = RateLimiter.Charge(call, snapshot.RateLimits);
        var touches = BudgetCounters.Touches(call, now, snapshot.Budgets);
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

    /// <summary>
    /// Settles every item of a batch (each its token and budget reservation; an item with an unset cost
    /// keeps its budget reservation) in one Redis round trip, unless <paramref name="batchId"/> was
    /// applied before: then null. Else the reservations settled.
    /// </summary>
    public Task<long?> SettleBatchAsync(string batchId, IEnumerable<SettleRequest> items)
    {
        var batch = new SettlementBatch();
        foreach (var item in items)
        {
            batch.AddTokens(item.Reservation, item.ActualTokens);
            if (item.HasActualCostNanoUsd)
            {
                batch.AddCost(item.BudgetReservation, item.ActualCostNanoUsd);
            }
        }

        return batch.ApplyAsync(redis.GetDatabase(), time.GetUtcNow(), batchId);
    }
}

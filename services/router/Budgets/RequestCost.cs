using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.ServiceDefaults.Billing;

namespace Gateway.Aspire.Router.Budgets;

/// <summary>
/// What a call may cost and what it did cost, in nano-USD, from the model's catalog prices and the
/// codebase's one cost function (<see cref="UsageCost"/>, through <see cref="CostReservation"/>).
/// Budgets reserve the first at admission and settle to the second.
/// </summary>
internal static class RequestCost
{
    /// <summary>
    /// The most a call can cost: <paramref name="promptTokens"/> (the router's overestimate) at the
    /// dearest input rate plus <paramref name="choices"/> × <paramref name="maxTokens"/> (0:
    /// <see cref="CostReservation.DefaultMaxTokens"/>) at the dearest output rate.
    /// </summary>
    public static long MaxNanoUsd(CatalogModel model, long promptTokens, long maxTokens, int choices = 1) =>
        CostReservation.MaxCostNanoUsd(promptTokens, (maxTokens > 0 ? maxTokens : CostReservation.DefaultMaxTokens) * Math.Max(1, choices), model.Prices);

    /// <summary>What <paramref name="usage"/> cost, as the ledger will price it.</summary>
    public static long ActualNanoUsd(CatalogModel model, TokenUsage usage) =>
        CostReservation.CostNanoUsd(
            new TokenCounts(usage.PromptTokens, usage.CompletionTokens, usage.CachedTokens)
            {
                CacheWriteTokens = usage.CacheWriteTokens,
                ReasoningTokens = usage.ReasoningTokens,
            },
            model.Prices);
}

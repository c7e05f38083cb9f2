namespace Gateway.Aspire.ServiceDefaults.Billing;

/// <summary>
/// What admission reserves before a call: its largest possible cost, priced with <see cref="UsageCost"/>
/// (the one cost function the router, policy and accounting share) so reservation and settlement never disagree.
/// </summary>
public static class CostReservation
{
    /// <summary>
    /// Completion tokens reserved when the request sets no max_tokens and the model declares none
    /// (token limits and budgets alike). Settled to actual usage afterwards.
    /// </summary>
    public const long DefaultMaxTokens = 1024;

    /// <summary>
    /// The most a call of <paramref name="promptTokens"/> and at most <paramref name="maxTokens"/>
    /// completion tokens (0: <see cref="DefaultMaxTokens"/>) can cost, in nano-USD rounded up: every
    /// prompt token at the dearest input rate (input, cached input, cache write), every completion
    /// token at the dearer of output and reasoning. Saturates instead of overflowing.
    /// </summary>
    public static long MaxCostNanoUsd(long promptTokens, long maxTokens, TokenPrices prices)
    {
        var input = Math.Max(prices.InputPerMtok, Math.Max(prices.CachedInputPerMtok, prices.CacheWritePerMtok ?? 0m));
        var output = Math.Max(prices.OutputPerMtok, prices.ReasoningPerMtok ?? 0m);
        var completion = maxTokens > 0 ? maxTokens : DefaultMaxTokens;
        var tokens = new TokenCounts((int)Math.Clamp(promptTokens, 0, int.MaxValue), (int)Math.Clamp(completion, 0, int.MaxValue), 0);
        return UsageCost.TryCompute(tokens, new TokenPrices(input, output, 0m), out var cost) ? NanoUsd.FromUsd(cost) : long.MaxValue;
    }

    /// <summary>The actual cost of <paramref name="tokens"/> in nano-USD rounded up (saturating).</summary>
    public static long CostNanoUsd(TokenCounts tokens, TokenPrices prices) =>
        UsageCost.TryCompute(tokens, prices, out var cost) ? NanoUsd.FromUsd(cost) : long.MaxValue;
}

namespace Gateway.Aspire.ServiceDefaults.Billing;

/// <summary>Unit prices in USD per million tokens.</summary>
/// <param name="InputPerMtok">Prompt tokens neither read from nor written to the prompt cache.</param>
/// <param name="OutputPerMtok">Completion tokens other than reasoning tokens.</param>
/// <param name="CachedInputPerMtok">Prompt tokens read from the provider's prompt cache.</param>
public readonly record struct TokenPrices(decimal InputPerMtok, decimal OutputPerMtok, decimal CachedInputPerMtok)
{
    /// <summary>
    /// Prompt tokens written to the provider's prompt cache (Anthropic bills them at 1.25× or 2×
    /// input, by cache lifetime). Null: <see cref="InputPerMtok"/>, as providers without a
    /// separate rate bill them.
    /// </summary>
    public decimal? CacheWritePerMtok { get; init; }

    /// <summary>Reasoning tokens. Null: <see cref="OutputPerMtok"/>, as every provider bills them today.</summary>
    public decimal? ReasoningPerMtok { get; init; }
}

/// <summary>Token counts of one call, in OpenAI's semantics (the router's one usage shape).</summary>
/// <param name="PromptTokens">All input tokens, cached and cache-written ones included.</param>
/// <param name="CompletionTokens">All output tokens, reasoning included.</param>
/// <param name="CachedTokens">Part of <paramref name="PromptTokens"/> read from the prompt cache.</param>
public readonly record struct TokenCounts(int PromptTokens, int CompletionTokens, int CachedTokens)
{
    /// <summary>Part of <see cref="PromptTokens"/> written to the prompt cache.</summary>
    public int CacheWriteTokens { get; init; }

    /// <summary>Part of <see cref="CompletionTokens"/> spent on reasoning.</summary>
    public int ReasoningTokens { get; init; }
}

/// <summary>The cost of one call, in decimal (money never goes through binary floating point).</summary>
public static class UsageCost
{
    /// <summary>Decimal places the ledger keeps (<c>numeric(18,10)</c>).</summary>
    public const int Scale = 10;

    /// <summary>Largest cost the ledger column can hold.</summary>
    public const decimal MaxCost = 99_999_999.9999999999m;

    /// <summary>
    /// (prompt − cached − cache_write) × input + cached × cached_input + cache_write × cache_write
    /// + (completion − reasoning) × output + reasoning × reasoning, prices per million tokens,
    /// summed exactly and rounded once to <see cref="Scale"/> places (midpoint away from zero).
    /// </summary>
    /// <exception cref="OverflowException">The cost exceeds <see cref="decimal"/>'s range (absurd prices).</exception>
    public static decimal Compute(TokenCounts tokens, TokenPrices prices)
    {
        const decimal perMillion = 1_000_000m;

        // Differences in decimal: an unvalidated caller cannot overflow int into a negative count.
        var uncachedPrompt = (decimal)tokens.PromptTokens - tokens.CachedTokens - tokens.CacheWriteTokens;
        var nonReasoningCompletion = (decimal)tokens.CompletionTokens - tokens.ReasoningTokens;
        var cost = uncachedPrompt * prices.InputPerMtok / perMillion
            + tokens.CachedTokens * prices.CachedInputPerMtok / perMillion
            + tokens.CacheWriteTokens * (prices.CacheWritePerMtok ?? prices.InputPerMtok) / perMillion
            + nonReasoningCompletion * prices.OutputPerMtok / perMillion
            + tokens.ReasoningTokens * (prices.ReasoningPerMtok ?? prices.OutputPerMtok) / perMillion;
        return decimal.Round(cost, Scale, MidpointRounding.AwayFromZero);
    }

    /// <summary>
    /// <see cref="Compute"/>, or false when the cost does not fit the ledger's column (above
    /// <see cref="MaxCost"/>, or even beyond <see cref="decimal"/>'s range).
    /// </summary>
    public static bool TryCompute(TokenCounts tokens, TokenPrices prices, out decimal cost)
    {
        try
        {
            cost = Compute(tokens, prices);
        }
        catch (OverflowException)
        {
            // Needs a price of at least ~3.7e19 USD per Mtok (decimal holds ~7.9e28): refuse it, do not crash.
            cost = 0m;
            return false;
        }

        return cost <= MaxCost;
    }

    /// <summary>
    /// What <paramref name="cachedTokens"/> saved: cached × (input − cached input) per million,
    /// rounded like <see cref="Compute"/>; false when it does not fit the ledger's column.
    /// </summary>
    public static bool TryComputeCacheSavings(int cachedTokens, TokenPrices prices, out decimal savings)
    {
        try
        {
            savings = decimal.Round(cachedTokens * (prices.InputPerMtok - prices.CachedInputPerMtok) / 1_000_000m, Scale, MidpointRounding.AwayFromZero);
        }
        catch (OverflowException)
        {
            savings = 0m;
            return false;
        }

        return Math.Abs(savings) <= MaxCost;
    }
}

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>Unit prices in USD per million tokens.</summary>
/// <param name="InputPerMtok">Uncached prompt tokens.</param>
/// <param name="OutputPerMtok">Completion tokens.</param>
/// <param name="CachedInputPerMtok">Prompt tokens served from the provider's prompt cache.</param>
public readonly record struct TokenPrices(decimal InputPerMtok, decimal OutputPerMtok, decimal CachedInputPerMtok);

/// <summary>The cost of one call, in decimal (money never goes through binary floating point).</summary>
public static class UsageCost
{
    /// <summary>Decimal places the ledger keeps (<c>numeric(18,10)</c>).</summary>
    public const int Scale = 10;

    /// <summary>Largest cost the ledger column can hold.</summary>
    public const decimal MaxCost = 99_999_999.9999999999m;

    /// <summary>
    /// (prompt − cached) × input + cached × cached_input + completion × output, prices per million
    /// tokens, rounded to <see cref="Scale"/> places. <paramref name="cachedTokens"/> is part of
    /// <paramref name="promptTokens"/> (OpenAI's <c>prompt_tokens_details.cached_tokens</c>).
    /// </summary>
    public static decimal Compute(int promptTokens, int completionTokens, int cachedTokens, TokenPrices prices)
    {
        const decimal perMillion = 1_000_000m;
        var cost = (promptTokens - cachedTokens) * prices.InputPerMtok / perMillion
            + cachedTokens * prices.CachedInputPerMtok / perMillion
            + completionTokens * prices.OutputPerMtok / perMillion;
        return decimal.Round(cost, Scale, MidpointRounding.AwayFromZero);
    }
}

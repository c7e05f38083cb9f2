using Gateway.Aspire.ServiceDefaults.Billing;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

public sealed class UsageCostTests
{
    private static readonly TokenPrices GptMini = new(InputPerMtok: 0.15m, OutputPerMtok: 0.60m, CachedInputPerMtok: 0.075m);

    [Fact]
    public void Cost_ChargesUncachedPromptCachedPromptAndCompletionSeparately()
    {
        // (1000 - 200) * 0.15/1e6 + 200 * 0.075/1e6 + 500 * 0.60/1e6 = 0.00012 + 0.000015 + 0.0003
        Assert.Equal(0.000435m, UsageCost.Compute(new TokenCounts(PromptTokens: 1000, CompletionTokens: 500, CachedTokens: 200), GptMini));
    }

    [Fact]
    public void Cost_WithoutCacheWriteAndReasoningPrices_BillsThemAsInputAndOutput()
    {
        var tokens = new TokenCounts(PromptTokens: 1000, CompletionTokens: 300, CachedTokens: 0) { CacheWriteTokens = 400, ReasoningTokens = 100 };

        // (600 + 400) * 2/1e6 + (200 + 100) * 8/1e6 = 0.002 + 0.0024: as if the split were not there.
        Assert.Equal(0.0044m, UsageCost.Compute(tokens, new TokenPrices(2m, 8m, 0.5m)));
        Assert.Equal(
            UsageCost.Compute(new TokenCounts(1000, 300, 0), new TokenPrices(2m, 8m, 0.5m)),
            UsageCost.Compute(tokens, new TokenPrices(2m, 8m, 0.5m)));
    }

    [Fact]
    public void Cost_WithCacheWriteAndReasoningPrices_BillsEachAtItsOwnRate()
    {
        var tokens = new TokenCounts(PromptTokens: 1000, CompletionTokens: 300, CachedTokens: 0) { CacheWriteTokens = 400, ReasoningTokens = 100 };
        var prices = new TokenPrices(2m, 8m, 0.5m) { CacheWritePerMtok = 2.5m, ReasoningPerMtok = 10m };

        // 600 * 2 + 400 * 2.5 + 200 * 8 + 100 * 10 = 1200 + 1000 + 1600 + 1000 = 4800 micro-dollars.
        Assert.Equal(0.0048m, UsageCost.Compute(tokens, prices));
    }

    [Fact]
    public void Cost_IsExactInDecimal()
    {
        // One token at $0.10/Mtok is 1e-7: binary floating point would not give this exactly.
        var cost = UsageCost.Compute(new TokenCounts(1, 0, 0), new TokenPrices(0.1m, 0m, 0m));

        Assert.Equal(0.0000001m, cost);
        Assert.Equal("0.0000001", cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Cost_RoundsToTenPlaces_MidpointAwayFromZero()
    {
        // 1 token at $0.00004/Mtok is 4e-11: below the ledger's resolution.
        Assert.Equal(0m, UsageCost.Compute(new TokenCounts(1, 0, 0), new TokenPrices(0.00004m, 0m, 0m)));
        // 1 token at $0.00015/Mtok is 1.5e-10: a midpoint, rounded up.
        Assert.Equal(0.0000000002m, UsageCost.Compute(new TokenCounts(1, 0, 0), new TokenPrices(0.00015m, 0m, 0m)));
    }

    [Fact]
    public void Cost_RoundsTheSumOnce_NotEachRate()
    {
        // One cache read and one cache write at $0.00005/Mtok: 5e-11 each. Rounding each term would
        // bill 2e-10; the exact sum is 1e-10.
        var tokens = new TokenCounts(PromptTokens: 2, CompletionTokens: 0, CachedTokens: 1) { CacheWriteTokens = 1 };
        var prices = new TokenPrices(0m, 0m, 0.00005m) { CacheWritePerMtok = 0.00005m };

        Assert.Equal(0.0000000001m, UsageCost.Compute(tokens, prices));
    }

    [Fact]
    public void Cost_OfFreeModelIsZero()
    {
        Assert.Equal(0m, UsageCost.Compute(new TokenCounts(123_456, 7_890, 1_000) { CacheWriteTokens = 2_000, ReasoningTokens = 5_000 }, default));
    }

    [Fact]
    public void Cost_OfLargeCallsDoesNotLosePrecision()
    {
        // 2^31-1 prompt tokens at $15/Mtok.
        Assert.Equal(32_212.254705m, UsageCost.Compute(new TokenCounts(int.MaxValue, 0, 0), new TokenPrices(15m, 0m, 0m)));
    }

    [Fact]
    public void TryCompute_RefusesCostsBeyondTheLedgerOrDecimal()
    {
        var maxTokens = new TokenCounts(int.MaxValue, 0, 0);

        // 2^31-1 tokens at $10^20/Mtok overflows decimal itself; at $10^12/Mtok it is 2.1e15 > MaxCost.
        Assert.False(UsageCost.TryCompute(maxTokens, new TokenPrices(1e20m, 0m, 0m), out _));
        Assert.False(UsageCost.TryCompute(maxTokens, new TokenPrices(1e12m, 0m, 0m), out _));
        Assert.True(UsageCost.TryCompute(maxTokens, new TokenPrices(15m, 0m, 0m), out var cost));
        Assert.Equal(32_212.254705m, cost);
    }
}

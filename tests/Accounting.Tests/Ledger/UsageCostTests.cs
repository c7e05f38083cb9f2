using Gateway.Aspire.Accounting.Ledger;

namespace Gateway.Aspire.Accounting.Tests.Ledger;

public sealed class UsageCostTests
{
    private static readonly TokenPrices GptMini = new(InputPerMtok: 0.15m, OutputPerMtok: 0.60m, CachedInputPerMtok: 0.075m);

    [Fact]
    public void Cost_ChargesUncachedPromptCachedPromptAndCompletionSeparately()
    {
        // (1000 - 200) * 0.15/1e6 + 200 * 0.075/1e6 + 500 * 0.60/1e6 = 0.00012 + 0.000015 + 0.0003
        Assert.Equal(0.000435m, UsageCost.Compute(promptTokens: 1000, completionTokens: 500, cachedTokens: 200, GptMini));
    }

    [Fact]
    public void Cost_IsExactInDecimal()
    {
        // One token at $0.10/Mtok is 1e-7: binary floating point would not give this exactly.
        var cost = UsageCost.Compute(1, 0, 0, new TokenPrices(0.1m, 0m, 0m));

        Assert.Equal(0.0000001m, cost);
        Assert.Equal("0.0000001", cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Cost_RoundsToTenPlaces_MidpointAwayFromZero()
    {
        // 1 token at $0.00004/Mtok is 4e-11: below the ledger's resolution.
        Assert.Equal(0m, UsageCost.Compute(1, 0, 0, new TokenPrices(0.00004m, 0m, 0m)));
        // 1 token at $0.00015/Mtok is 1.5e-10: a midpoint, rounded up.
        Assert.Equal(0.0000000002m, UsageCost.Compute(1, 0, 0, new TokenPrices(0.00015m, 0m, 0m)));
    }

    [Fact]
    public void Cost_OfFreeModelIsZero()
    {
        Assert.Equal(0m, UsageCost.Compute(123_456, 7_890, 1_000, default));
    }

    [Fact]
    public void Cost_OfLargeCallsDoesNotLosePrecision()
    {
        // 2^31-1 prompt tokens at $15/Mtok.
        Assert.Equal(32_212.254705m, UsageCost.Compute(int.MaxValue, 0, 0, new TokenPrices(15m, 0m, 0m)));
    }
}

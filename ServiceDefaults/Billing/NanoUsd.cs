namespace Gateway.Aspire.ServiceDefaults.Billing;

/// <summary>
/// Money on the wire and in Redis counters: whole nano-USD (1e-9 USD) in an <see cref="long"/>.
/// </summary>
/// <remarks>
/// Integers because Redis counts with INCRBY and compares in Lua, where numbers are doubles: exact up
/// to 2^53 nano-USD, about 9 million USD, which is why budget limits stop at <see cref="MaxExactUsd"/>.
/// One nano-USD is finer than any token price (0.15 USD per million tokens is 150 nano-USD a token),
/// and amounts are rounded up, so a reservation is never below the decimal cost it stands for.
/// </remarks>
public static class NanoUsd
{
    /// <summary>Nano-USD in one USD.</summary>
    public const long PerUsd = 1_000_000_000;

    /// <summary>The largest amount (9,000,000 USD) that Redis' Lua compares exactly in nano-USD.</summary>
    public const decimal MaxExactUsd = 9_000_000m;

    /// <summary><paramref name="usd"/> in nano-USD, rounded up; negative amounts are 0, amounts beyond <see cref="long"/> saturate.</summary>
    public static long FromUsd(decimal usd)
    {
        if (usd <= 0)
        {
            return 0;
        }

        // decimal.MaxValue / 1e9 still fits decimal; only the long conversion can overflow.
        var nano = decimal.Ceiling(usd * PerUsd);
        return nano >= long.MaxValue ? long.MaxValue : (long)nano;
    }

    /// <summary><paramref name="nano"/> as USD.</summary>
    public static decimal ToUsd(long nano) => (decimal)nano / PerUsd;
}

using Gateway.Aspire.Accounting.Ledger;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>
/// Percentiles from the log-scale histograms of <see cref="UsageTotals"/>: bucket i holds the
/// durations in (γ^(i−1), γ^i] ms, reported as 2γ^i/(γ+1), which is within
/// <see cref="RelativeError"/> (γ = 1.1: 4.8 %) of every duration in the bucket; so a percentile is
/// within that of the exact nearest-rank percentile of the rows. Bucket 0 (≤ 1 ms) reports 1 ms.
/// </summary>
internal static class LatencyHistogram
{
    /// <summary>The largest relative difference between a reported percentile and the exact one.</summary>
    public static readonly double RelativeError = (UsageTotals.Gamma - 1) / (UsageTotals.Gamma + 1);

    /// <summary>How many durations <paramref name="counts"/> holds.</summary>
    public static long Count(long?[] counts)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c ?? 0;
        }

        return total;
    }

    /// <summary>
    /// The nearest-rank <paramref name="quantile"/> of a histogram whose first element is bucket
    /// <paramref name="lowerBound"/>; NaN when it is empty.
    /// </summary>
    public static double Percentile(int lowerBound, long?[] counts, long total, double quantile)
    {
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i] ?? 0;
            if (seen >= rank)
            {
                return Estimate(lowerBound + i);
            }
        }

        return Estimate(lowerBound + counts.Length - 1);
    }

    private static double Estimate(int bucket) =>
        bucket <= 0 ? 1.0 : 2 * Math.Pow(UsageTotals.Gamma, bucket) / (UsageTotals.Gamma + 1);
}

namespace Gateway.Aspire.Bench;

/// <summary>Exact latency histogram in microseconds; histograms of several runs merge exactly.</summary>
internal sealed class Histogram
{
    private readonly Dictionary<long, long> _counts = [];
    private long[]? _sortedKeys;

    public long Count { get; private set; }

    public void Add(long microseconds, long count = 1)
    {
        if (count <= 0)
        {
            return;
        }

        _counts[microseconds] = _counts.GetValueOrDefault(microseconds) + count;
        Count += count;
        _sortedKeys = null;
    }

    public void AddTicks(long stopwatchTicks) => Add(stopwatchTicks * 1_000_000 / System.Diagnostics.Stopwatch.Frequency);

    public void Merge(Histogram other)
    {
        foreach (var (value, count) in other._counts)
        {
            Add(value, count);
        }
    }

    /// <summary>The value at percentile <paramref name="p"/> (0-100), in milliseconds; NaN when empty.</summary>
    public double PercentileMs(double p)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        _sortedKeys ??= [.. _counts.Keys.Order()];
        var rank = (long)Math.Ceiling(p / 100.0 * Count);
        rank = Math.Clamp(rank, 1, Count);
        long seen = 0;
        foreach (var key in _sortedKeys)
        {
            seen += _counts[key];
            if (seen >= rank)
            {
                return key / 1000.0;
            }
        }

        return _sortedKeys[^1] / 1000.0;
    }

    public double MeanMs => Count == 0 ? double.NaN : _counts.Sum(kv => (double)kv.Key * kv.Value) / Count / 1000.0;
}

using System.Diagnostics;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>
/// Per-call latency percentiles of a 1 KB scan. BenchmarkDotNet reports the mean of many calls per
/// iteration, which hides the tail; the target is per check (p50 and p99), so this times
/// every call on its own after a warm-up.
/// </summary>
internal static class LatencyHistogram
{
    public static void Run(int calls)
    {
        var scanner = new PiiScanner();
        var text = Prompts.OfSize(1_024);
        for (var i = 0; i < 2_000; i++)
        {
            scanner.Scan(text);
        }

        var ticks = new long[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            scanner.Scan(text);
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }

        Array.Sort(ticks);
        Console.WriteLine($"Scan of {text.Length} characters, all detectors, {calls} calls:");
        foreach (var p in new[] { 50.0, 90.0, 99.0, 99.9 })
        {
            var value = ticks[Math.Min(calls - 1, (int)(calls * p / 100))];
            Console.WriteLine($"  p{p,-5} {value * 1_000_000.0 / Stopwatch.Frequency,8:0.0} µs");
        }

        Console.WriteLine($"  max    {ticks[^1] * 1_000_000.0 / Stopwatch.Frequency,8:0.0} µs");
    }
}

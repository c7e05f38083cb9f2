using BenchmarkDotNet.Running;
using Gateway.Aspire.Guardrails.Benchmarks;

// dotnet run -c Release --project tests/Guardrails.Benchmarks -- latency        per-call p50/p99 of 1, 10 and 100 KB scans
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- checks         per-call p50/p99 of injection, deny-list, moderation (1 KB)
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- --filter '*' --job short
if (args is ["latency", ..])
{
    // Per-call percentiles at 1 KB (the target), and 10 KB / 100 KB to show the cost is linear.
    var calls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
    LatencyHistogram.Run(1_024, calls);
    LatencyHistogram.Run(10_240, Math.Max(100, calls / 10));
    LatencyHistogram.Run(102_400, Math.Max(20, calls / 100));
}
else if (args is ["checks", ..])
{
    // The other checks, per call on the 1 KB prompt.
    var calls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
    LatencyHistogram.Run("PromptInjection", "heuristics", 1_024, calls, text => (int)(ContentCheckBenchmarks.Injection.Score(text).Score * 100));
    LatencyHistogram.Run("DenyList", "topic policy + pattern + keywords", 1_024, calls, text => ContentCheckBenchmarks.Deny.Find(text).Count);
    LatencyHistogram.Run("Moderation", "built-in classifier", 1_024, calls, text => ContentCheckBenchmarks.Moderation.Classify(text).Flagged ? 1 : 0);
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(PiiScanBenchmarks).Assembly).Run(args);
}

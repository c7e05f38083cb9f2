using BenchmarkDotNet.Running;
using Gateway.Aspire.Guardrails.Benchmarks;

// dotnet run -c Release --project tests/Guardrails.Benchmarks -- latency        per-call p50/p99 of a 1 KB scan
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- --filter '*' --job short
if (args is ["latency", ..])
{
    LatencyHistogram.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000);
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(PiiScanBenchmarks).Assembly).Run(args);
}

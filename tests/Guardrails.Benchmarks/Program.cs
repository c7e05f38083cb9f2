using BenchmarkDotNet.Running;
using Gateway.Aspire.Guardrails.Benchmarks;

// dotnet run -c Release --project tests/Guardrails.Benchmarks -- latency        per-call p50/p99 of 1, 10 and 100 KB scans
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- detectors      per-call p50/p99 of each PII detector alone (1 KB)
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- checks         per-call p50/p99 of injection, deny-list, moderation (1 KB)
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- stream         per-stream p50/p99 and round trips of a 200-delta guarded stream
// dotnet run -c Release --project tests/Guardrails.Benchmarks -- --filter '*' --job short
if (args is ["latency", ..])
{
    // Per-call percentiles at 1 KB (the target), and 10 KB / 100 KB to show the cost is linear.
    var calls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
    LatencyHistogram.Run(1_024, calls);
    LatencyHistogram.Run(10_240, Math.Max(100, calls / 10));
    LatencyHistogram.Run(102_400, Math.Max(20, calls / 100));
}
else if (args is ["detectors", ..])
{
    // Each PII detector alone on the 1 KB prompt (the scanner with one type), for the per-detector table.
    var calls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
    var scanner = new Gateway.Aspire.Guardrails.Pii.PiiScanner();
    foreach (var type in Gateway.Aspire.Guardrails.Pii.PiiTypes.All)
    {
        Gateway.Aspire.Guardrails.Pii.PiiType[] only = [type];
        LatencyHistogram.Run($"Scan {Gateway.Aspire.Guardrails.Pii.PiiTypes.Name(type)}", "one detector", 1_024, calls, text => scanner.Scan(text, only).Count);
    }
}
else if (args is ["checks", ..])
{
    // The other checks, per call on the 1 KB prompt.
    var calls = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
    LatencyHistogram.Run("PromptInjection", "heuristics", 1_024, calls, text => (int)(ContentCheckBenchmarks.Injection.Score(text).Score * 100));
    LatencyHistogram.Run("DenyList", "topic policy + pattern + keywords", 1_024, calls, text => ContentCheckBenchmarks.Deny.Find(text).Count);
    LatencyHistogram.Run("Moderation", "built-in classifier", 1_024, calls, text => ContentCheckBenchmarks.Moderation.Classify(text).Flagged ? 1 : 0);
}
else if (args is ["stream", ..])
{
    // The router's stream guard against the real service over loopback gRPC, 1, 10 and all events per read.
    var runs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200;
    await using var harness = await StreamGuardHarness.StartAsync();
    foreach (var perRead in new[] { 1, 10, 202 })
    {
        var reads = StreamGuardHarness.Reads(perRead);
        var (roundTrips, bytes) = (0, 0L);
        for (var i = 0; i < Math.Max(20, runs / 5); i++)
        {
            (roundTrips, bytes) = await harness.RunAsync(reads);
        }

        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            await harness.RunAsync(reads);
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        Console.WriteLine($"{StreamGuardHarness.Deltas} deltas, {perRead} events per read ({reads.Length} reads): {roundTrips} round trips, "
            + $"{bytes} bytes out; ms p50 {times[runs / 2]:0.00}  p90 {times[runs * 9 / 10]:0.00}  p99 {times[Math.Min(runs - 1, runs * 99 / 100)]:0.00}");
    }
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(PiiScanBenchmarks).Assembly).Run(args);
}

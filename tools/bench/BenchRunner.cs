using System.Diagnostics;

namespace Gateway.Aspire.Bench;

/// <summary>A measured case: run on both paths in every round.</summary>
internal sealed record Scenario(string Key, string Title, int Concurrency, int UpstreamLatencyMs, bool Stream, bool Saturation = false, int ChunkDelayMs = 0);

/// <summary>Everything measured for one scenario on one path over all rounds.</summary>
internal sealed class PathResult
{
    public LoadResult Load { get; } = new();

    public Dictionary<string, long> CpuTicks { get; } = [];

    public long MachineBusyTicks { get; set; }

    public long MachineTotalTicks { get; set; }

    public string Generator { get; set; } = "";
}

/// <summary>Starts the application, runs the interleaved rounds, writes the report and the chart.</summary>
internal static class BenchRunner
{
    public const string Direct = "direct";
    public const string Gateway = "gateway";

    /// <summary>Saturation concurrency (the issue asks for 32-64).</summary>
    public const int SaturationConcurrency = 64;

    public static readonly Scenario[] Scenarios =
    [
        new("c1-0ms", "chat, concurrency 1, upstream 0 ms", 1, 0, false),
        new("c1-50ms", "chat, concurrency 1, upstream 50 ms", 1, 50, false),
        new("c8-0ms", "chat, concurrency 8, upstream 0 ms", 8, 0, false),
        new("c8-50ms", "chat, concurrency 8, upstream 50 ms", 8, 50, false),
        new("sat-0ms", $"chat, saturation (concurrency {SaturationConcurrency}), upstream 0 ms", SaturationConcurrency, 0, false, Saturation: true),
        new("stream-c1", "stream, concurrency 1, 100 chunks back to back", 1, 0, true),
        new("stream-paced", $"stream, concurrency 4, 100 chunks with {AppUnderTest.StreamChunkDelayMs} ms upstream delay", 4, 0, true, ChunkDelayMs: AppUnderTest.StreamChunkDelayMs),
    ];

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var useWrk = options.UseWrk && WrkLoad.Available();
        if (options.UseWrk && !useWrk)
        {
            Console.WriteLine("wrk is not on PATH (Debian/Ubuntu: apt-get install wrk); using the .NET load loop instead (--no-wrk).");
        }

        if (options.Profile)
        {
            // Lets perf name JIT-compiled frames (/tmp/perf-<pid>.map); the services inherit it.
            // W^X double-maps JIT code (memfd:doublemapper), which perf cannot match to the maps.
            Environment.SetEnvironmentVariable("DOTNET_PerfMapEnabled", "1");
            Environment.SetEnvironmentVariable("DOTNET_EnableWriteXorExecute", "0");
        }

        var clock = Stopwatch.StartNew();
        Console.WriteLine($"Starting the application (AppHost Program, {BuildConfiguration()} build)...");
        await using var app = await AppUnderTest.StartAsync();
        var processes = ProcessStats.Identify(app.App.ChildProcessIds);
        Console.WriteLine($"Started in {clock.Elapsed.TotalSeconds:F0} s: {string.Join(", ", processes.Select(p => $"{p.Name} (pid {p.Pid})"))}");

        var bodies = await Bodies.WriteAsync(app.Directory);
        var rssBefore = ProcessStats.Sample(processes).RssKb;
        var rssPeak = new Dictionary<string, long>(rssBefore);

        LoadSpec Spec(Scenario s, string path, TimeSpan duration) => path == Direct
            ? new LoadSpec(app.DirectUrl, app.DirectHeaders(s.UpstreamLatencyMs, s.ChunkDelayMs), bodies.Direct(s.Stream), s.Concurrency, duration, options.MaxRequestsPerSegment, s.Stream)
            : new LoadSpec(app.GatewayUrl, app.GatewayHeaders, bodies.Gateway(AppUnderTest.Account(s.UpstreamLatencyMs, s.ChunkDelayMs), s.Stream), s.Concurrency, duration, options.MaxRequestsPerSegment, s.Stream);

        async Task<(LoadResult Result, string Generator)> RunSegmentAsync(Scenario s, string path, TimeSpan duration)
        {
            var spec = Spec(s, path, duration);
            return !s.Stream && useWrk
                ? (await WrkLoad.RunAsync(spec, app.Directory), "wrk")
                : (await HttpLoad.RunAsync(spec), ".NET SocketsHttpHandler loop");
        }

        // Warm-up: JIT tiers, connection pools, policy's token cache, all on both paths.
        Console.WriteLine($"Warming up ({options.WarmUp.TotalSeconds:F0} s per path)...");
        long gatewayRequests = 0;
        foreach (var path in new[] { Direct, Gateway })
        {
            var (warm, _) = await RunSegmentAsync(Scenarios[2], path, options.WarmUp);
            var (warmStream, _) = await RunSegmentAsync(Scenarios[5], path, TimeSpan.FromSeconds(1));
            if (warm.Errors + warmStream.Errors > 0 || warm.Requests == 0)
            {
                throw new InvalidOperationException($"Warm-up on the {path} path failed: {warm.Errors + warmStream.Errors} errors of {warm.Requests + warmStream.Requests}.{Environment.NewLine}{app.Log}");
            }

            if (path == Gateway)
            {
                gatewayRequests += warm.Requests + warmStream.Requests;
            }
        }

        var results = Scenarios.ToDictionary(s => s.Key, _ => new Dictionary<string, PathResult> { [Direct] = new(), [Gateway] = new() });
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var scenario in Scenarios)
            {
                // Alternate which path goes first so neither always follows the other's load.
                var order = round % 2 == 1 ? new[] { Direct, Gateway } : [Gateway, Direct];
                foreach (var path in order)
                {
                    var before = ProcessStats.Sample(processes);
                    var machineBefore = ProcessStats.MachineTicks();
                    var (load, generator) = await RunSegmentAsync(scenario, path, options.SegmentDuration);
                    var machineAfter = ProcessStats.MachineTicks();
                    var after = ProcessStats.Sample(processes);

                    var target = results[scenario.Key][path];
                    target.Load.Merge(load);
                    target.Generator = generator;
                    target.MachineBusyTicks += machineAfter.Busy - machineBefore.Busy;
                    target.MachineTotalTicks += machineAfter.Total - machineBefore.Total;
                    foreach (var (name, ticks) in after.CpuTicks)
                    {
                        target.CpuTicks[name] = target.CpuTicks.GetValueOrDefault(name) + ticks - before.CpuTicks.GetValueOrDefault(name);
                    }

                    foreach (var (name, rss) in after.RssKb)
                    {
                        rssPeak[name] = Math.Max(rssPeak.GetValueOrDefault(name), rss);
                    }

                    if (path == Gateway)
                    {
                        gatewayRequests += load.Requests;
                    }

                    Console.WriteLine($"  round {round}/{options.Rounds} {scenario.Key,-10} {path,-8} {load.Requests,7} req {load.Requests / load.Seconds,8:F0}/s p50 {load.Latency.PercentileMs(50),7:F3} ms p99 {load.Latency.PercentileMs(99),7:F3} ms errors {load.Errors}");
                }
            }
        }

        string? profile = null;
        if (options.Profile)
        {
            Console.WriteLine("Profiling the gateway at saturation with perf...");
            profile = await Profiler.RecordAsync(processes, async () =>
            {
                var segment = await RunSegmentAsync(Scenarios[4], Gateway, TimeSpan.FromSeconds(10));
                gatewayRequests += segment.Result.Requests;
                return segment;
            }, app.Directory);
        }

        // Let the usage shipper deliver the last batches before counting ledger rows.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var rssAfter = ProcessStats.Sample(processes).RssKb;
        long ledgerRows;
        try
        {
            ledgerRows = await app.LedgerRowsAsync();
        }
        catch (Npgsql.NpgsqlException)
        {
            ledgerRows = -1;
        }

        var run = new BenchRun(options, results, rssBefore, rssPeak, rssAfter, gatewayRequests, ledgerRows, clock.Elapsed, BuildConfiguration(),
            results.Values.SelectMany(r => r.Values).Select(r => r.Generator).Distinct().ToList(), profile);
        await Report.WriteAsync(run);
        Chart.Write(run, Path.Combine(options.OutputDirectory, "overhead.png"));
        Console.WriteLine($"Done in {clock.Elapsed.TotalMinutes:F1} min; wrote {options.OutputDirectory}/README.md (results section), results.md and overhead.png.");
        return 0;
    }

    public static string BuildConfiguration() =>
        typeof(BenchRunner).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "unknown";
}

/// <summary>Everything one run produced.</summary>
internal sealed record BenchRun(
    BenchOptions Options,
    Dictionary<string, Dictionary<string, PathResult>> Results,
    IReadOnlyDictionary<string, long> RssBeforeKb,
    IReadOnlyDictionary<string, long> RssPeakKb,
    IReadOnlyDictionary<string, long> RssAfterKb,
    long GatewayRequests,
    long LedgerRows,
    TimeSpan Elapsed,
    string Configuration,
    IReadOnlyList<string> Generators,
    string? Profile);

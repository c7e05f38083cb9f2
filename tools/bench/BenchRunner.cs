using System.Diagnostics;

namespace Gateway.Aspire.Bench;

/// <summary>A measured case: run on both paths in every round.</summary>
/// <remarks><see cref="Pii"/> cases run against a second start of the application whose gateway.yaml masks PII on input.</remarks>
internal sealed record Scenario(string Key, string Title, int Concurrency, int UpstreamLatencyMs, bool Stream, bool Saturation = false, int ChunkDelayMs = 0, bool Pii = false);

/// <summary>Everything measured for one scenario on one path over all rounds.</summary>
internal sealed class PathResult
{
    public LoadResult Load { get; } = new();

    public Dictionary<string, long> CpuTicks { get; } = [];

    /// <summary>Bytes allocated by each .NET service during the segments (from its /metrics).</summary>
    public Dictionary<string, long> AllocatedBytes { get; } = [];

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
        new("pii-c1-0ms", "chat with PII masked on input, concurrency 1, upstream 0 ms", 1, 0, false, Pii: true),
        new("pii-sat-0ms", $"chat with PII masked on input, saturation (concurrency {SaturationConcurrency}), upstream 0 ms", SaturationConcurrency, 0, false, Saturation: true, Pii: true),
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

        foreach (var (name, value) in options.Environment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        var selected = Scenarios.Where(s => options.Cases.Count == 0 || options.Cases.Contains(s.Key)).ToArray();
        var clock = Stopwatch.StartNew();
        var results = Scenarios.ToDictionary(s => s.Key, _ => new Dictionary<string, PathResult> { [Direct] = new(), [Gateway] = new() });
        var gatewayRequests = 0L;
        var ledgerRows = 0L;

        // Phase 1: the main cases (auth + rate limit + budget + accounting, no guardrails rules, so no guardrails call).
        Phase? main = null;
        string? profile = null;
        if (selected.Any(s => !s.Pii))
        {
            Console.WriteLine($"Starting the application (AppHost Program, {BuildConfiguration()} build)...");
            await using var app = await AppUnderTest.StartAsync();
            main = await RunPhaseAsync(app, [.. selected.Where(s => !s.Pii)], results, options, useWrk);
            gatewayRequests += main.GatewayRequests;
            if (options.Profile)
            {
                Console.WriteLine("Profiling the gateway at saturation with perf...");
                profile = await Profiler.RecordAsync(main.Processes, async () =>
                {
                    var segment = await main.RunSegmentAsync(Scenarios.First(s => s.Key == "sat-0ms"), Gateway, TimeSpan.FromSeconds(10));
                    gatewayRequests += segment.Result.Requests;
                    return segment;
                }, app.Directory);
            }

            ledgerRows += await main.LedgerRowsAsync();
        }

        // Phase 2: the same gateway with a guardrails rule masking PII on input (the router then calls guardrails on every request).
        Phase? pii = null;
        if (selected.Any(s => s.Pii))
        {
            Console.WriteLine("Starting the application with PII guardrails on input...");
            await using var app = await AppUnderTest.StartAsync(piiGuardrails: true);
            pii = await RunPhaseAsync(app, [.. selected.Where(s => s.Pii)], results, options, useWrk);
            gatewayRequests += pii.GatewayRequests;
            ledgerRows += await pii.LedgerRowsAsync();
        }

        // Memory is reported for the main phase (the PII phase's when only PII cases ran).
        var memory = (main ?? pii)!;
        var run = new BenchRun(options, results, memory.RssBefore, memory.RssPeak, memory.RssAfter, gatewayRequests, ledgerRows, clock.Elapsed, BuildConfiguration(),
            results.Values.SelectMany(r => r.Values).Select(r => r.Generator).Where(g => g.Length > 0).Distinct().ToList(), profile);
        await Report.WriteAsync(run);
        Chart.Write(run, Path.Combine(options.OutputDirectory, "overhead.png"));
        Console.WriteLine($"Done in {clock.Elapsed.TotalMinutes:F1} min; wrote {options.OutputDirectory}/README.md (results section), results.md and overhead.png.");
        return 0;
    }

    /// <summary>Warm-up and interleaved rounds of <paramref name="scenarios"/> against one started application.</summary>
    private static async Task<Phase> RunPhaseAsync(AppUnderTest app, Scenario[] scenarios, Dictionary<string, Dictionary<string, PathResult>> results, BenchOptions options, bool useWrk)
    {
        var processes = ProcessStats.Identify(app.App.ChildProcessIds);
        Console.WriteLine($"Started: {string.Join(", ", processes.Select(p => $"{p.Name} (pid {p.Pid})"))}");

        var bodies = await Bodies.WriteAsync(app.Directory);
        var phase = new Phase(app, processes, bodies, useWrk, options.MaxRequestsPerSegment) { RssBefore = ProcessStats.Sample(processes).RssKb };
        using var allocations = AllocationStats.For(app);
        var rssPeak = new Dictionary<string, long>(phase.RssBefore);

        // Warm-up: JIT tiers, connection pools, policy's token cache, all on both paths; at concurrency 8 whatever the phase's cases are.
        Console.WriteLine($"Warming up ({options.WarmUp.TotalSeconds:F0} s per path)...");
        var warmChat = scenarios.First(s => !s.Stream) with { Concurrency = 8, Saturation = false };
        var warmStream = scenarios.FirstOrDefault(s => s.Stream && s.ChunkDelayMs == 0);
        foreach (var path in new[] { Direct, Gateway })
        {
            // One untimed request first: on a busy machine a cold service (JIT, the guardrails' detectors)
            // can take longer than a whole warm-up segment, which wrk would then report as zero requests.
            await HttpLoad.RunAsync(phase.Spec(warmChat with { Concurrency = 1 }, path, TimeSpan.FromMinutes(1)) with { MaxRequests = 1 });
            var (warm, _) = await phase.RunSegmentAsync(warmChat, path, options.WarmUp);
            var streamed = warmStream is null ? new LoadResult() : (await phase.RunSegmentAsync(warmStream, path, TimeSpan.FromSeconds(1))).Result;
            if (warm.Errors + streamed.Errors > 0 || warm.Requests == 0)
            {
                throw new InvalidOperationException($"Warm-up on the {path} path failed: {warm.Errors + streamed.Errors} errors of {warm.Requests + streamed.Requests}.{Environment.NewLine}{app.Log}");
            }

            if (path == Gateway)
            {
                phase.GatewayRequests += warm.Requests + streamed.Requests;
            }
        }

        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var scenario in scenarios)
            {
                // Alternate which path goes first so neither always follows the other's load.
                var order = round % 2 == 1 ? new[] { Direct, Gateway } : [Gateway, Direct];
                foreach (var path in order)
                {
                    var allocatedBefore = await allocations.SampleAsync();
                    var before = ProcessStats.Sample(processes);
                    var machineBefore = ProcessStats.MachineTicks();
                    var (load, generator) = await phase.RunSegmentAsync(scenario, path, options.SegmentDuration);
                    var machineAfter = ProcessStats.MachineTicks();
                    var after = ProcessStats.Sample(processes);
                    var allocatedAfter = await allocations.SampleAsync();

                    var target = results[scenario.Key][path];
                    target.Load.Merge(load);
                    target.Generator = generator;
                    target.MachineBusyTicks += machineAfter.Busy - machineBefore.Busy;
                    target.MachineTotalTicks += machineAfter.Total - machineBefore.Total;
                    foreach (var (name, ticks) in after.CpuTicks)
                    {
                        target.CpuTicks[name] = target.CpuTicks.GetValueOrDefault(name) + ticks - before.CpuTicks.GetValueOrDefault(name);
                    }

                    foreach (var (name, bytes) in allocatedAfter)
                    {
                        if (allocatedBefore.TryGetValue(name, out var start))
                        {
                            target.AllocatedBytes[name] = target.AllocatedBytes.GetValueOrDefault(name) + bytes - start;
                        }
                    }

                    foreach (var (name, rss) in after.RssKb)
                    {
                        rssPeak[name] = Math.Max(rssPeak.GetValueOrDefault(name), rss);
                    }

                    if (path == Gateway)
                    {
                        phase.GatewayRequests += load.Requests;
                    }

                    Console.WriteLine($"  round {round}/{options.Rounds} {scenario.Key,-11} {path,-8} {load.Requests,7} req {load.Requests / load.Seconds,8:F0}/s p50 {load.Latency.PercentileMs(50),7:F3} ms p99 {load.Latency.PercentileMs(99),7:F3} ms errors {load.Errors}");
                }
            }
        }

        phase.RssPeak = rssPeak;
        return phase;
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

/// <summary>One started application and what was measured against it.</summary>
internal sealed class Phase(AppUnderTest app, IReadOnlyList<TrackedProcess> processes, Bodies bodies, bool useWrk, int maxRequests)
{
    public IReadOnlyList<TrackedProcess> Processes => processes;

    public IReadOnlyDictionary<string, long> RssBefore { get; init; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, long> RssPeak { get; set; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, long> RssAfter { get; private set; } = new Dictionary<string, long>();

    /// <summary>Gateway requests sent, warm-up included: compared with ledger rows.</summary>
    public long GatewayRequests { get; set; }

    public LoadSpec Spec(Scenario s, string path, TimeSpan duration) => path == BenchRunner.Direct
        ? new LoadSpec(app.DirectUrl, app.DirectHeaders(s.UpstreamLatencyMs, s.ChunkDelayMs), bodies.Direct(s.Stream, s.Pii), s.Concurrency, duration, maxRequests, s.Stream)
        : new LoadSpec(app.GatewayUrl, app.GatewayHeaders, bodies.Gateway(AppUnderTest.Account(s.UpstreamLatencyMs, s.ChunkDelayMs), s.Stream, s.Pii), s.Concurrency, duration, maxRequests, s.Stream);

    public async Task<(LoadResult Result, string Generator)> RunSegmentAsync(Scenario s, string path, TimeSpan duration)
    {
        var spec = Spec(s, path, duration);
        return !s.Stream && useWrk
            ? (await WrkLoad.RunAsync(spec, app.Directory), "wrk")
            : (await HttpLoad.RunAsync(spec), ".NET SocketsHttpHandler loop");
    }

    /// <summary>Lets the usage shipper deliver its last batches, samples RSS, and counts ledger rows (-1 when PostgreSQL cannot be asked).</summary>
    public async Task<long> LedgerRowsAsync()
    {
        await Task.Delay(TimeSpan.FromSeconds(2));
        RssAfter = ProcessStats.Sample(processes).RssKb;
        try
        {
            return await app.LedgerRowsAsync();
        }
        catch (Npgsql.NpgsqlException)
        {
            return -1;
        }
    }
}

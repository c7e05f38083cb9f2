using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gateway.Aspire.Policy.Grpc;
using Grpc.Net.Client;

namespace Gateway.Aspire.Bench;

/// <summary>One Admit case: what the router would send, at a concurrency.</summary>
/// <param name="Key">Short name.</param>
/// <param name="Title">What the case is.</param>
/// <param name="Concurrency">Calls in flight.</param>
/// <param name="Counted">Whether the call names a model (then the rate limit and the budget run their Redis script) or only authenticates.</param>
/// <param name="SettleBatch">For a settlement case: settlements per call (1: the single Settle RPC; more: one SettleBatch of that many); 0: Admit.</param>
internal sealed record AdmitCase(string Key, string Title, int Concurrency, bool Counted, int SettleBatch = 0);

/// <summary>
/// Issue 5's Admit benchmark: a gRPC load loop against the real policy service (started by AppHost
/// with its Redis and PostgreSQL, the bench's rate-limit and budget rules loaded) calling
/// <c>Admission.Admit</c> exactly as the router does, with latency (client-side, whole call) and CPU
/// per call of policy and Redis from /proc.
/// </summary>
/// <remarks>
/// One <see cref="GrpcChannel"/> (one HTTP/2 connection, calls multiplexed), as the router has. The
/// counted case hits the token rule and the hard budget: one Lua script per call. Nothing is settled,
/// so reservations only accumulate (far below both limits).
/// </remarks>
internal static class AdmitBench
{
    public static readonly AdmitCase[] Cases =
    [
        new("auth-c1", "auth only (no model), concurrency 1", 1, Counted: false),
        new("admit-c1", "auth + access + rate limit + budget, concurrency 1", 1, Counted: true),
        new("admit-c8", "auth + access + rate limit + budget, concurrency 8", 8, Counted: true),
        new("admit-c64", "auth + access + rate limit + budget, concurrency 64", 64, Counted: true),
        // What settling costs per request: one Settle per request (before issue 8's batching) against
        // what the router now sends, one SettleBatch per 256 (or a few ms). Calls/s and CPU are per settlement.
        new("settle-c64", "settle, one Settle call per request, concurrency 64", 64, Counted: true, SettleBatch: 1),
        new("batch-c4", "settle, SettleBatch of 256 per call, concurrency 4", 4, Counted: true, SettleBatch: 256),
    ];

    public static async Task<int> RunAsync(BenchOptions options)
    {
        foreach (var (name, value) in options.Environment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        var clock = Stopwatch.StartNew();
        var loadAverage = LoadAverage();
        Console.WriteLine($"Starting the application (AppHost Program, {BenchRunner.BuildConfiguration()} build)...");
        await using var app = await AppUnderTest.StartAsync();
        var processes = ProcessStats.Identify(app.App.ChildProcessIds).Where(p => p.Name is "policy" or "redis").ToList();
        var address = app.App.GetEndpoint("policy", "grpc");
        Console.WriteLine($"Policy at {address}: {string.Join(", ", processes.Select(p => $"{p.Name} (pid {p.Pid})"))}");

        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false },
        });
        var client = new Admission.AdmissionClient(channel);

        var duration = TimeSpan.FromSeconds(options.Quick ? 3 : 6);
        using var allocations = new AllocationStats(new Dictionary<string, Uri> { ["policy"] = new(app.App.GetEndpoint("policy", "http"), "/metrics") });
        Console.WriteLine("Warming up...");
        await RunSegmentAsync(client, app.Token, Cases[2], TimeSpan.FromSeconds(options.Quick ? 3 : 6));

        var results = Cases.ToDictionary(c => c.Key, _ => new AdmitResult());
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var admitCase in Cases)
            {
                var allocatedBefore = await allocations.SampleAsync();
                var before = ProcessStats.Sample(processes);
                var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
                var segment = await RunSegmentAsync(client, app.Token, admitCase, duration);
                var after = ProcessStats.Sample(processes);
                segment.ClientCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - clientCpu).TotalMilliseconds;
                var allocatedAfter = await allocations.SampleAsync();
                if (allocatedBefore.TryGetValue("policy", out var a0) && allocatedAfter.TryGetValue("policy", out var a1))
                {
                    segment.PolicyAllocatedBytes = a1 - a0;
                }

                foreach (var (name, ticks) in after.CpuTicks)
                {
                    segment.CpuTicks[name] = ticks - before.CpuTicks.GetValueOrDefault(name);
                }

                results[admitCase.Key].Merge(segment);
                Console.WriteLine($"  round {round}/{options.Rounds} {admitCase.Key,-10} {segment.Calls,7} calls {segment.Calls / segment.Seconds,8:F0}/s p50 {segment.Latency.PercentileMs(50),7:F3} ms p99 {segment.Latency.PercentileMs(99),7:F3} ms errors {segment.Errors}");
            }
        }

        var markdown = Render(options, results, clock.Elapsed, loadAverage);
        Directory.CreateDirectory(options.OutputDirectory);
        var file = Path.Combine(options.OutputDirectory, "admit.md");
        await File.WriteAllTextAsync(file, "# Admit benchmark\n\nWritten by `tools/bench --admit`; see [README.md](README.md#the-admit-call-issue-5).\n\n" + markdown);
        Console.WriteLine(markdown);
        Console.WriteLine($"Wrote {file}.");
        return 0;
    }

    internal static async Task<AdmitResult> RunSegmentAsync(Admission.AdmissionClient client, string token, AdmitCase admitCase, TimeSpan duration)
    {
        if (admitCase.SettleBatch > 0)
        {
            return await RunSettleSegmentAsync(client, token, admitCase, duration);
        }

        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var partials = await Task.WhenAll(Enumerable.Range(0, admitCase.Concurrency).Select(worker => Task.Run(async () =>
        {
            var result = new AdmitResult();
            var sequence = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                // What the router sends for the bench's ~1 KB chat body (prompt estimate = bytes / 4).
                var request = new AdmitRequest { Token = token, RequestId = $"admit-{worker}-{sequence++}" };
                if (admitCase.Counted)
                {
                    request.Model = "mock0/gpt-4o-mini";
                    request.EstimatedPromptTokens = 260;
                    request.MaxTokens = 256;
                    request.MaxCostNanoUsd = 260 * 150 + 256 * 600;
                    request.Choices = 1;
                }

                var start = Stopwatch.GetTimestamp();
                try
                {
                    var reply = await client.AdmitAsync(request);
                    result.Latency.AddTicks(Stopwatch.GetTimestamp() - start);
                    if (reply.Decision != AdmitDecision.Allowed)
                    {
                        result.Errors++;
                    }
                }
                catch (Grpc.Core.RpcException)
                {
                    result.Errors++;
                }

                result.Calls++;
            }

            return result;
        })));

        var total = new AdmitResult();
        foreach (var partial in partials)
        {
            total.Merge(partial);
        }

        total.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return total;
    }

    /// <summary>
    /// Settles one real reservation over and over, alternately one token (and one nano-USD) above and
    /// below what was reserved, so every settlement moves its counters (none is a no-op) and they end
    /// where they started.
    /// </summary>
    private static async Task<AdmitResult> RunSettleSegmentAsync(Admission.AdmissionClient client, string token, AdmitCase admitCase, TimeSpan duration)
    {
        const long reservedTokens = 260 + 256;
        const long reservedCost = 260 * 150 + 256 * 600;
        var admitted = await client.AdmitAsync(new AdmitRequest
        {
            Token = token, Model = "mock0/gpt-4o-mini", RequestId = "settle-source", EstimatedPromptTokens = 260, MaxTokens = 256, MaxCostNanoUsd = reservedCost, Choices = 1,
        });
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var partials = await Task.WhenAll(Enumerable.Range(0, admitCase.Concurrency).Select(worker => Task.Run(async () =>
        {
            var result = new AdmitResult();
            var sequence = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var batch = new SettleBatchRequest { BatchId = $"{Guid.NewGuid():N}" };
                for (var i = 0; i < admitCase.SettleBatch; i++)
                {
                    var sign = (sequence & 1) == 0 ? 1 : -1;
                    batch.Settlements.Add(new SettleRequest
                    {
                        RequestId = $"settle-{worker}-{sequence++}",
                        Reservation = admitted.Reservation,
                        BudgetReservation = admitted.BudgetReservation,
                        ActualTokens = reservedTokens + sign,
                        ActualCostNanoUsd = reservedCost + sign,
                    });
                }

                var start = Stopwatch.GetTimestamp();
                try
                {
                    if (admitCase.SettleBatch == 1)
                    {
                        var reply = await client.SettleAsync(batch.Settlements[0]);
                        result.Errors += reply.Settled && reply.BudgetSettled ? 0 : 1;
                    }
                    else
                    {
                        var reply = await client.SettleBatchAsync(batch);
                        result.Errors += admitCase.SettleBatch - reply.Settled / 2;
                    }

                    result.Latency.AddTicks(Stopwatch.GetTimestamp() - start);
                }
                catch (Grpc.Core.RpcException)
                {
                    result.Errors += admitCase.SettleBatch;
                }

                result.Calls += admitCase.SettleBatch;
            }

            return result;
        })));

        var total = new AdmitResult();
        foreach (var partial in partials)
        {
            total.Merge(partial);
        }

        total.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return total;
    }

    private static string Render(BenchOptions options, Dictionary<string, AdmitResult> results, TimeSpan elapsed, string loadAverage)
    {
        var o = new StringBuilder();
        o.AppendLine(CultureInfo.InvariantCulture, $"Run of {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {options.Rounds} interleaved round(s) of {(options.Quick ? 3 : 6)} s per case, {BenchRunner.BuildConfiguration()} build, {elapsed.TotalMinutes:F1} min in all, load average before the run {loadAverage}. "
            + $"**Machine: {Environment.ProcessorCount} cores shared by this load loop, policy, Redis, PostgreSQL and the other services (idle), and by other work on the machine; numbers are noisy.**");
        o.AppendLine();
        o.AppendLine("Latency is the whole gRPC call as the client sees it (ms); CPU per call is user + system time from /proc/<pid>/stat (ms); "
            + "allocated is what policy's GC counted (`dotnet.gc.heap.total_allocated`, KB per call: independent of machine load). "
            + "For the settle cases calls, calls/s, CPU and allocations are per settlement (one request's), latency per gRPC call.");
        o.AppendLine();
        o.AppendLine("| case | calls | calls/s | p50 | p90 | p99 | p99.9 | errors | CPU policy | CPU redis | CPU client | policy KB allocated |");
        o.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var admitCase in Cases)
        {
            var r = results[admitCase.Key];
            var n = Math.Max(1, r.Calls);
            o.AppendLine(CultureInfo.InvariantCulture,
                $"| {admitCase.Title} | {r.Calls} | {r.Calls / Math.Max(1e-9, r.Seconds):F0} | {r.Latency.PercentileMs(50):F3} | {r.Latency.PercentileMs(90):F3} | {r.Latency.PercentileMs(99):F3} | {r.Latency.PercentileMs(99.9):F3} | {r.Errors} | "
                + $"{r.CpuTicks.GetValueOrDefault("policy") * ProcessStats.MillisecondsPerTick / n:F3} | {r.CpuTicks.GetValueOrDefault("redis") * ProcessStats.MillisecondsPerTick / n:F3} | {r.ClientCpuMs / n:F3} | {r.PolicyAllocatedBytes / 1024.0 / n:F2} |");
        }

        return o.ToString();
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}

/// <summary>What one Admit case measured.</summary>
internal sealed class AdmitResult
{
    public long Calls { get; set; }

    public long Errors { get; set; }

    public double Seconds { get; set; }

    public double ClientCpuMs { get; set; }

    public long PolicyAllocatedBytes { get; set; }

    public Histogram Latency { get; } = new();

    public Dictionary<string, long> CpuTicks { get; } = [];

    public void Merge(AdmitResult other)
    {
        Calls += other.Calls;
        Errors += other.Errors;
        Seconds += other.Seconds;
        ClientCpuMs += other.ClientCpuMs;
        PolicyAllocatedBytes += other.PolicyAllocatedBytes;
        Latency.Merge(other.Latency);
        foreach (var (name, ticks) in other.CpuTicks)
        {
            CpuTicks[name] = CpuTicks.GetValueOrDefault(name) + ticks;
        }
    }
}

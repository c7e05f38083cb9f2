using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.ServiceDefaults.Grpc;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aspire.Bench;

/// <summary>
/// What the router's gRPC client stack costs per call: the same Admit load loop against the real
/// policy service through each way of building the client, alternated in one process, with the
/// client process's own allocations (<see cref="GC.GetTotalAllocatedBytes"/>) and CPU time
/// (<see cref="Environment.CpuUsage"/>) per call. Everything but the client stack is identical
/// across the variants (the loop, the requests, policy), so their difference is the stack's cost.
/// </summary>
internal static class ChannelBench
{
    /// <summary>The variants: key, what it is, how its client is built from policy's resolved address.</summary>
    private static readonly (string Key, string Title, Func<Uri, (Admission.AdmissionClient Client, IAsyncDisposable Owner)> Build)[] s_variants =
    [
        ("factory", "HttpClientFactory (`AddGrpcClient`, service discovery per call; the router before)", FactoryClient),
        ("channel", "one `GrpcChannel`, address resolved once (`GrpcServiceChannels`; the router now)", ChannelClient),
        ("httpclient", "the same handler behind an `HttpClient` (no gRPC balancer handler)", HttpClientChannel),
    ];

    private static readonly AdmitCase[] s_cases =
    [
        new("c1", "concurrency 1", 1, Counted: true),
        new("c16", "concurrency 16", 16, Counted: true),
    ];

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"Starting the application (AppHost Program, {BenchRunner.BuildConfiguration()} build)...");
        await using var app = await AppUnderTest.StartAsync();
        var policy = ProcessStats.Identify(app.App.ChildProcessIds).Where(p => p.Name == "policy").ToList();
        var address = app.App.GetEndpoint("policy", "grpc");
        Console.WriteLine($"Policy at {address}");

        var clients = s_variants.Select(v => v.Build(address)).ToList();
        var duration = TimeSpan.FromSeconds(options.Quick ? 2 : 4);
        Console.WriteLine("Warming up every variant...");
        foreach (var (client, _) in clients)
        {
            await AdmitBench.RunSegmentAsync(client, app.Token, s_cases[1], duration);
            await AdmitBench.RunSegmentAsync(client, app.Token, s_cases[0], duration);
        }

        var results = new Dictionary<(string, string), ChannelResult>();
        var rounds = options.Quick ? 2 : 4;
        var idle = new ChannelResult();
        for (var round = 1; round <= rounds; round++)
        {
            // The application runs inside this process (Aspire's orchestration allocates and wakes while
            // idle); a segment without calls measures that background, which is taken off every segment.
            var idleAllocated = GC.GetTotalAllocatedBytes(precise: true);
            var idleCpu = Environment.CpuUsage.TotalTime;
            await Task.Delay(duration);
            idle.Add(new AdmitResult { Seconds = duration.TotalSeconds }, GC.GetTotalAllocatedBytes(precise: true) - idleAllocated, (Environment.CpuUsage.TotalTime - idleCpu).TotalMilliseconds, 0);
            foreach (var admitCase in s_cases)
            {
                // Alternate the order every round so a drift of the shared machine hits every variant alike.
                var order = Enumerable.Range(0, s_variants.Length).ToList();
                if (round % 2 == 0)
                {
                    order.Reverse();
                }

                foreach (var i in order)
                {
                    GC.Collect();
                    var allocated = GC.GetTotalAllocatedBytes(precise: true);
                    var cpu = Environment.CpuUsage.TotalTime;
                    var before = ProcessStats.Sample(policy);
                    var segment = await AdmitBench.RunSegmentAsync(clients[i].Client, app.Token, admitCase, duration);
                    var after = ProcessStats.Sample(policy);
                    allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                    var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
                    var result = results.TryGetValue((s_variants[i].Key, admitCase.Key), out var r) ? r : results[(s_variants[i].Key, admitCase.Key)] = new();
                    result.Add(segment, allocated, cpuMs, (after.CpuTicks.GetValueOrDefault("policy") - before.CpuTicks.GetValueOrDefault("policy")) * ProcessStats.MillisecondsPerTick);
                    var n = Math.Max(1, segment.Calls);
                    Console.WriteLine($"  round {round}/{rounds} {admitCase.Key,-4} {s_variants[i].Key,-10} {segment.Calls,7} calls {segment.Calls / segment.Seconds,7:F0}/s "
                        + $"p50 {segment.Latency.PercentileMs(50),6:F3} ms {allocated / 1024.0 / n,6:F2} KB/call {cpuMs / n,7:F4} ms CPU/call errors {segment.Errors}");
                }
            }
        }

        // After the measured rounds (the listener costs CPU): what each variant allocates, by type.
        var breakdowns = new List<(string Variant, long Calls, IReadOnlyList<(string Type, long Bytes)> Types)>();
        using (var sampler = new AllocationSampler())
        {
            for (var i = 0; i < s_variants.Length; i++)
            {
                sampler.Start();
                var segment = await AdmitBench.RunSegmentAsync(clients[i].Client, app.Token, s_cases[1], duration * 2);
                breakdowns.Add((s_variants[i].Key, segment.Calls, sampler.Stop()));
            }
        }

        var markdown = Render(results, idle, clock.Elapsed, rounds, duration) + RenderBreakdown(breakdowns);
        Directory.CreateDirectory(options.OutputDirectory);
        var file = Path.Combine(options.OutputDirectory, "channels.md");
        await File.WriteAllTextAsync(file, "# gRPC client stack benchmark\n\nWritten by `tools/bench --channels`; see [README.md](README.md).\n\n" + markdown);
        Console.WriteLine(markdown);
        Console.WriteLine($"Wrote {file}.");
        foreach (var (_, owner) in clients)
        {
            // Service discovery's resolver can only be disposed asynchronously.
            await owner.DisposeAsync();
        }

        return 0;
    }

    /// <summary>
    /// The router's registration before this benchmark existed, reproduced as the baseline:
    /// <c>AddGrpcClient</c> against the logical address, <c>AddServiceDefaults</c>' HttpClient defaults
    /// (standard resilience, service discovery), then the per-client overrides the router had.
    /// </summary>
    private static (Admission.AdmissionClient, IAsyncDisposable) FactoryClient(Uri policy)
    {
        var services = Services(policy);
        services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        var builder = services.AddGrpcClient<Admission.AdmissionClient>(o => o.Address = new Uri("http://_grpc.policy"));
        builder.ConfigurePrimaryHttpMessageHandler(() =>
        {
            // The router's handler then had today's settings but never recycled its connections
            // (and service discovery set the same balancer key).
            var handler = GrpcServiceChannels.CreateHandler();
            handler.PooledConnectionLifetime = Timeout.InfiniteTimeSpan;
            return handler;
        });
#pragma warning disable EXTEXP0001 // As the router had it.
        builder.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.RemoveAllLoggers();
        var provider = services.BuildServiceProvider();
        // The router's forwarder is a singleton: it resolved its client once.
        return (provider.GetRequiredService<Admission.AdmissionClient>(), provider);
    }

    /// <summary>What the router registers now.</summary>
    private static (Admission.AdmissionClient, IAsyncDisposable) ChannelClient(Uri policy)
    {
        var services = Services(policy);
        services.AddGrpcServiceClient("policy", channel => new Admission.AdmissionClient(channel));
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<Admission.AdmissionClient>(), provider);
    }

    /// <summary>The same handler as <see cref="ChannelClient"/>, given to gRPC as an <see cref="HttpClient"/>: gRPC then adds no balancer handler of its own.</summary>
    private static (Admission.AdmissionClient, IAsyncDisposable) HttpClientChannel(Uri policy)
    {
        var channel = GrpcChannel.ForAddress(policy, new GrpcChannelOptions { HttpClient = new HttpClient(GrpcServiceChannels.CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan }, DisposeHttpClient = true });
        var services = new ServiceCollection();
        services.AddSingleton(_ => channel); // a factory registration, so the container disposes it
        return (new Admission.AdmissionClient(channel), services.BuildServiceProvider());
    }

    /// <summary>Configuration and logging as the router has them with tracing off (AppHost's variables, gRPC's call category filtered).</summary>
    private static ServiceCollection Services(Uri policy)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["services:policy:grpc:0"] = policy.ToString() })
            .Build());
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Grpc.Net.Client.Internal.GrpcCall", LogLevel.None));
        services.AddServiceDiscovery();
        return services;
    }

    private static string Render(Dictionary<(string, string), ChannelResult> results, ChannelResult idle, TimeSpan elapsed, int rounds, TimeSpan duration)
    {
        var o = new StringBuilder();
        o.AppendLine(CultureInfo.InvariantCulture, $"Run of {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {rounds} rounds of {duration.TotalSeconds:F0} s per variant and case, order alternated, {BenchRunner.BuildConfiguration()} build, "
            + $"{elapsed.TotalMinutes:F1} min in all. **Machine: {Environment.ProcessorCount} cores shared by this load loop, policy, Redis, PostgreSQL, the other services (idle) and other work on the machine; "
            + $"calls/s and latency are noisy, allocations per call are not.**");
        o.AppendLine();
        o.AppendLine("`Admission.Admit` with a model (auth + rate limit + budget: one Redis script), the router's request. Client columns are the bench process "
            + "(its load loop is the same for every variant, so differences are the client stack's), net of what it allocates and burns without calls "
            + string.Create(CultureInfo.InvariantCulture, $"(the in-process AppHost: {idle.AllocatedBytes / 1024.0 / idle.Seconds:F0} KB and {idle.ClientCpuMs / idle.Seconds:F1} ms of CPU per second, measured each round); policy CPU from /proc."));
        o.AppendLine();
        o.AppendLine("| variant | case | calls | calls/s | p50 ms | p99 ms | client KB allocated per call | client CPU ms per call | policy CPU ms per call | errors |");
        o.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var admitCase in s_cases)
        {
            foreach (var variant in s_variants)
            {
                var r = results[(variant.Key, admitCase.Key)];
                var n = Math.Max(1, r.Calls);
                var allocated = r.AllocatedBytes - idle.AllocatedBytes / idle.Seconds * r.Seconds;
                var cpu = r.ClientCpuMs - idle.ClientCpuMs / idle.Seconds * r.Seconds;
                o.AppendLine(CultureInfo.InvariantCulture,
                    $"| {variant.Title} | {admitCase.Title} | {r.Calls} | {r.Calls / Math.Max(1e-9, r.Seconds):F0} | {r.Latency.PercentileMs(50):F3} | {r.Latency.PercentileMs(99):F3} | "
                    + $"{allocated / 1024.0 / n:F2} | {cpu / n:F4} | {r.PolicyCpuMs / n:F4} | {r.Errors} |");
            }
        }

        return o.ToString();
    }

    /// <summary>The largest allocated types per call of each variant, side by side.</summary>
    private static string RenderBreakdown(List<(string Variant, long Calls, IReadOnlyList<(string Type, long Bytes)> Types)> breakdowns)
    {
        var o = new StringBuilder();
        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"### Allocated by type (bytes per call, concurrency 16, sampled by the runtime's allocation ticks: shares below ≈ 100 B are noise)");
        o.AppendLine();
        o.AppendLine("| type | " + string.Join(" | ", breakdowns.Select(b => b.Variant)) + " |");
        o.AppendLine("|---|" + string.Concat(breakdowns.Select(_ => "--:|")));
        var top = breakdowns.SelectMany(b => b.Types.Take(15).Select(t => t.Type)).Distinct().ToList();
        foreach (var type in top)
        {
            o.AppendLine($"| `{type}` | " + string.Join(" | ", breakdowns.Select(b =>
                (b.Types.FirstOrDefault(t => t.Type == type).Bytes / (double)Math.Max(1, b.Calls)).ToString("F0", CultureInfo.InvariantCulture))) + " |");
        }

        o.AppendLine("| all | " + string.Join(" | ", breakdowns.Select(b => (b.Types.Sum(t => t.Bytes) / (double)Math.Max(1, b.Calls)).ToString("F0", CultureInfo.InvariantCulture))) + " |");
        return o.ToString();
    }

    /// <summary>Sums of the segments of one variant and case.</summary>
    private sealed class ChannelResult
    {
        public long Calls { get; private set; }

        public long Errors { get; private set; }

        public double Seconds { get; private set; }

        public long AllocatedBytes { get; private set; }

        public double ClientCpuMs { get; private set; }

        public double PolicyCpuMs { get; private set; }

        public Histogram Latency { get; } = new();

        public void Add(AdmitResult segment, long allocated, double clientCpuMs, double policyCpuMs)
        {
            Calls += segment.Calls;
            Errors += segment.Errors;
            Seconds += segment.Seconds;
            AllocatedBytes += allocated;
            ClientCpuMs += clientCpuMs;
            PolicyCpuMs += policyCpuMs;
            Latency.Merge(segment.Latency);
        }
    }
}

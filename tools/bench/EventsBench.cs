using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.ServiceDefaults.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Aspire.Bench;

/// <summary>
/// The gateway event publisher alone (<c>--events</c>), in this process against a private
/// redis-server: the router's two events per request (<c>model.request.start</c> and
/// <c>model.request.complete</c>, with the router's fields) published at a paced rate, and what that
/// costs per event: bytes allocated in this process (the request path's event object included),
/// this process's and Redis' CPU, and the commands Redis ran. Each rate is also run with publishing
/// off (the loop and the event objects only), so the publisher's own share is the difference.
/// </summary>
/// <remarks>
/// Uses only the publisher's public API, so the same file measures an older build of ServiceDefaults
/// for a before/after comparison (docs/perf/README.md, "Gateway events in batches").
/// </remarks>
internal static class EventsBench
{
    // USER_HZ: 100 clock ticks a second on every mainstream kernel (ProcessStats; not shared, so this file also builds against an older ServiceDefaults alone).
    private const double MicrosecondsPerTick = 10_000;

    private static readonly (string Name, int RequestsPerSecond)[] s_rates = [("c1-like", 600), ("saturation-like", 2_750)];

    public static async Task<int> RunAsync(TimeSpan segment, int rounds)
    {
        var directory = Path.Combine(Path.GetTempPath(), "gateway-events-bench-" + Guid.NewGuid().ToString("N"));
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { DataDirectory = directory, Output = TextWriter.Null }, CancellationToken.None);
        try
        {
            Console.WriteLine($"Events benchmark: {server.Kind} pid {server.ProcessId}; {rounds} round(s) of {segment.TotalSeconds:F0} s per case; 2 events per request. Machine: {Environment.ProcessorCount} cores, shared.");
            await using var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString + ",allowAdmin=true");
            var services = new ServiceCollection().AddMetrics().AddSingleton<IConnectionMultiplexer>(connection).BuildServiceProvider();
            var totals = new Dictionary<string, Segment>();
            foreach (var enabled in new[] { true, false })
            {
                // Warm-up: JIT, the script cache, the connection.
                await RunSegmentAsync(services, connection, server.ProcessId, enabled, 2_000, TimeSpan.FromSeconds(2));
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var (name, rate) in s_rates)
                {
                    foreach (var enabled in round % 2 == 0 ? new[] { true, false } : [false, true])
                    {
                        var key = $"{name} ({rate} req/s), publishing {(enabled ? "on" : "off")}";
                        var result = await RunSegmentAsync(services, connection, server.ProcessId, enabled, rate, segment);
                        totals[key] = totals.TryGetValue(key, out var sum) ? sum.Add(result) : result;
                        Console.WriteLine($"  round {round + 1} {key}: {result.Events} events");
                    }
                }
            }

            Console.WriteLine();
            Console.WriteLine("| case | events | bytes allocated / event | this process CPU µs / event | Redis CPU µs / event | Redis commands run per 1,000 events (those a script runs included) |");
            Console.WriteLine("|---|--:|--:|--:|--:|---|");
            foreach (var (key, total) in totals)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {key} | {total.Events} | {total.AllocatedBytes / (double)total.Events:F0} | {total.ProcessCpu.TotalMicroseconds / total.Events:F1} | {total.RedisTicks * MicrosecondsPerTick / total.Events:F1} | {Commands(total)} |"));
            }

            await services.DisposeAsync();
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Commands(Segment total) => total.Events == 0 || total.Commands.Count == 0
        ? "none"
        : string.Join(", ", total.Commands.OrderBy(c => c.Key).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value * 1000.0 / total.Events:F0}")));

    private static async Task<Segment> RunSegmentAsync(IServiceProvider services, ConnectionMultiplexer connection, int redisPid, bool enabled, int requestsPerSecond, TimeSpan duration)
    {
        var redisServer = connection.GetServers()[0];
        await redisServer.ConfigResetStatisticsAsync();
        var publisher = new GatewayEventPublisher(services, Options.Create(new GatewayEventOptions { Enabled = enabled }),
            services.GetRequiredService<IMeterFactory>(), NullLogger<GatewayEventPublisher>.Instance);
        await publisher.StartAsync(CancellationToken.None);

        var redisBefore = ProcessTicks(redisPid);
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var requests = 0L;
        while (clock.Elapsed < duration)
        {
            // Paced like a router at this request rate: catch up every millisecond or so.
            var due = (long)(clock.Elapsed.TotalSeconds * requestsPerSecond);
            for (; requests < due; requests++)
            {
                var now = DateTimeOffset.UtcNow;
                var id = "req-" + requests.ToString(CultureInfo.InvariantCulture);
                publisher.Publish(new StartEvent { Time = now, RequestId = id, Model = "mock0/gpt-4o-mini" });
                publisher.Publish(new CompleteEvent { Time = now, RequestId = id, Model = "mock0/gpt-4o-mini" });
            }

            await Task.Delay(1);
        }

        // Stopping drains the queue: everything published in the segment is paid for inside it.
        await publisher.StopAsync(CancellationToken.None);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        var redisTicks = ProcessTicks(redisPid) - redisBefore;
        ((object)publisher as IDisposable)?.Dispose(); // an older publisher (before/after runs) is not disposable

        var commands = new Dictionary<string, long>();
        foreach (var pair in (await redisServer.InfoAsync("commandstats")).SelectMany(group => group))
        {
            var name = pair.Key["cmdstat_".Length..];
            if (name is "xadd" or "publish" or "eval" or "evalsha")
            {
                commands[name] = long.Parse(pair.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture);
            }
        }

        return new Segment(requests * 2, allocated, cpu, redisTicks, commands);
    }

    private static long ProcessTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private sealed record Segment(long Events, long AllocatedBytes, TimeSpan ProcessCpu, long RedisTicks, Dictionary<string, long> Commands)
    {
        public Segment Add(Segment other) => new(Events + other.Events, AllocatedBytes + other.AllocatedBytes, ProcessCpu + other.ProcessCpu, RedisTicks + other.RedisTicks,
            Commands.Keys.Union(other.Commands.Keys).ToDictionary(k => k, k => Commands.GetValueOrDefault(k) + other.Commands.GetValueOrDefault(k)));
    }

    /// <summary>The router's <c>model.request.start</c> fields.</summary>
    private sealed class StartEvent : GatewayEvent
    {
        public override string Type => GatewayEventTypes.RequestStart;

        protected override void WriteFields(Utf8JsonWriter writer)
        {
            writer.WriteString("user", "bench-user");
            writer.WriteString("team", "bench-team");
            writer.WriteString("virtual_account", "bench");
            writer.WriteBoolean("stream", false);
        }
    }

    /// <summary>The router's <c>model.request.complete</c> fields.</summary>
    private sealed class CompleteEvent : GatewayEvent
    {
        public override string Type => GatewayEventTypes.RequestComplete;

        protected override void WriteFields(Utf8JsonWriter writer)
        {
            writer.WriteString("served_model", "mock0/gpt-4o-mini");
            writer.WriteString("provider", "openai");
            writer.WriteNumber("status", 200);
            writer.WriteString("error_type", "");
            writer.WriteNumber("prompt_tokens", 231);
            writer.WriteNumber("completion_tokens", 100);
            writer.WriteNumber("cached_tokens", 0);
            writer.WriteBoolean("usage_estimated", false);
            writer.WriteNumber("cost_usd", 0.0000946m);
            writer.WriteNumber("latency_ms", 1.234);
            writer.WriteNumber("ttft_ms", 0);
            writer.WriteString("user", "bench-user");
            writer.WriteString("team", "bench-team");
            writer.WriteString("virtual_account", "bench");
            writer.WriteBoolean("stream", false);
            writer.WriteBoolean("cached", false);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;

namespace Gateway.Aspire.Bench;

/// <summary>One sample of the soak: when, how much work so far, and each process's memory.</summary>
internal sealed record SoakSample(double Minutes, long Requests, long Errors, IReadOnlyDictionary<string, long> RssKb, IReadOnlyDictionary<string, long> GcHeapBytes);

/// <summary>
/// <c>--soak DURATION</c>: a constant moderate load through the whole gateway path (auth, rate limit,
/// budget, accounting) for a bounded time, sampling every process's RSS and every .NET service's GC
/// heap every 10 s, and reporting the trend as a least-squares slope in MB/min. Issue 8 asks for a
/// router RSS that stays flat under load; a leak shows as a slope that does not flatten once the
/// heaps have grown to their working size, which is why the slope is also given for the second half.
/// </summary>
/// <remarks>
/// The load is paced, not closed-loop: <see cref="BenchOptions.SoakRate"/> requests/s spread over a
/// few workers, each sending on its own schedule and never catching up after falling behind, so a
/// slow moment of the shared machine does not turn into a burst. One request in ten is a stream.
/// </remarks>
internal static class Soak
{
    private static readonly TimeSpan s_sampleEvery = TimeSpan.FromSeconds(10);
    private static readonly string[] s_processes = ["router", "policy", "accounting", "guardrails", "mock", "redis", "postgres"];
    private static readonly string[] s_dotnet = ["router", "policy", "accounting", "guardrails"];

    public static async Task<int> RunAsync(BenchOptions options)
    {
        foreach (var (name, value) in options.Environment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        var duration = options.SoakDuration!.Value;
        Console.WriteLine($"Soak: {duration.TotalMinutes:F1} min at {options.SoakRate} req/s through the gateway. Starting the application ({BenchRunner.BuildConfiguration()} build)...");
        await using var app = await AppUnderTest.StartAsync();
        var processes = ProcessStats.Identify(app.App.ChildProcessIds);
        var bodies = await Bodies.WriteAsync(app.Directory);
        using var heaps = AllocationStats.For(app);
        var chat = await File.ReadAllBytesAsync(bodies.Gateway(AppUnderTest.Account(0, 0), stream: false));
        var stream = await File.ReadAllBytesAsync(bodies.Gateway(AppUnderTest.Account(0, 0), stream: true));

        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = options.SoakWorkers,
        };
        using var invoker = new HttpMessageInvoker(handler);
        var url = new Uri(app.GatewayUrl);
        var authorization = "Bearer " + app.Token;
        long requests = 0, errors = 0;

        // Warm-up at the same rate, outside the samples: JIT tiers and pools are not what a soak measures.
        Console.WriteLine("Warming up (30 s)...");
        await RunLoadAsync(TimeSpan.FromSeconds(30), options.SoakRate, options.SoakWorkers, invoker, url, authorization, chat, stream, new long[2]);

        var samples = new List<SoakSample>();
        var cpuBefore = ProcessStats.Sample(processes).CpuTicks;
        var allocatedBefore = await heaps.SampleAsync();
        var clock = Stopwatch.StartNew();
        var counters = new long[2];
        var load = RunLoadAsync(duration, options.SoakRate, options.SoakWorkers, invoker, url, authorization, chat, stream, counters);
        while (true)
        {
            requests = Interlocked.Read(ref counters[0]);
            errors = Interlocked.Read(ref counters[1]);
            var sample = ProcessStats.Sample(processes);
            var gc = await heaps.SampleAsync(AllocationStats.HeapSizeMetric);
            samples.Add(new SoakSample(clock.Elapsed.TotalMinutes, requests, errors, sample.RssKb, gc));
            var previous = samples.Count > 1 ? samples[^2] : null;
            var rate = previous is null ? 0 : (requests - previous.Requests) / ((samples[^1].Minutes - previous.Minutes) * 60);
            var memory = string.Join("  ", s_processes.Where(sample.RssKb.ContainsKey).Select(p => $"{p} {sample.RssKb[p] / 1024:F0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {clock.Elapsed:mm\\:ss} {requests,8} req ({rate,5:F0}/s) errors {errors}  RSS MB: {memory}"));
            if (load.IsCompleted)
            {
                break;
            }

            await Task.WhenAny(load, Task.Delay(s_sampleEvery));
            if (load.IsCompleted)
            {
                // One last sample right after the load ends, so the series covers the whole duration.
                continue;
            }
        }

        await load;
        var cpuAfter = ProcessStats.Sample(processes).CpuTicks;
        var allocatedAfter = await heaps.SampleAsync();
        var measured = Math.Max(1, samples[^1].Requests);
        var perRequest = new PerRequest(
            cpuAfter.ToDictionary(p => p.Key, p => (p.Value - cpuBefore.GetValueOrDefault(p.Key)) * ProcessStats.MillisecondsPerTick / measured),
            allocatedAfter.Where(p => allocatedBefore.ContainsKey(p.Key)).ToDictionary(p => p.Key, p => (p.Value - allocatedBefore[p.Key]) / 1024.0 / measured));
        var markdown = Render(options, samples, perRequest, clock.Elapsed);
        Directory.CreateDirectory(options.OutputDirectory);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "soak.md"), markdown);
        WriteChart(samples, Path.Combine(options.OutputDirectory, "soak.png"));
        Console.WriteLine(markdown);
        Console.WriteLine($"Wrote {options.OutputDirectory}/soak.md and soak.png.");
        return errors == 0 ? 0 : 1;
    }

    /// <summary>Least-squares slope of <paramref name="points"/> (x in minutes, y in MB): MB/min.</summary>
    public static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return 0;
        }

        var meanX = points.Average(p => p.X);
        var meanY = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - meanX) * (p.X - meanX));
        return sxx == 0 ? 0 : points.Sum(p => (p.X - meanX) * (p.Y - meanY)) / sxx;
    }

    private static async Task RunLoadAsync(TimeSpan duration, int rate, int workers, HttpMessageInvoker invoker, Uri url, string authorization, byte[] chat, byte[] stream, long[] counters)
    {
        var interval = Stopwatch.Frequency * workers / (double)rate;
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            var read = new byte[16 * 1024];
            // Workers start spread over one interval so their requests interleave evenly.
            var due = (double)Stopwatch.GetTimestamp() + interval * worker / workers;
            var sent = 0;
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= end)
                {
                    return;
                }

                if (due > now)
                {
                    await Task.Delay(TimeSpan.FromSeconds((due - now) / Stopwatch.Frequency));
                }

                // Fell behind: start from now rather than sending the backlog in a burst.
                due = Math.Max(due + interval, Stopwatch.GetTimestamp());
                var ok = await SendAsync(invoker, url, authorization, ++sent % 10 == 0 ? stream : chat, read);
                Interlocked.Increment(ref counters[0]);
                if (!ok)
                {
                    Interlocked.Increment(ref counters[1]);
                }
            }
        })));
    }

    private static async Task<bool> SendAsync(HttpMessageInvoker invoker, Uri url, string authorization, byte[] body, byte[] read)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        try
        {
            using var response = await invoker.SendAsync(request, CancellationToken.None);
            await using var content = await response.Content.ReadAsStreamAsync();
            while (await content.ReadAsync(read) > 0)
            {
            }

            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return false;
        }
    }

    private static string Render(BenchOptions options, List<SoakSample> samples, PerRequest perRequest, TimeSpan elapsed)
    {
        var o = new StringBuilder();
        var last = samples[^1];
        var half = samples.Where(s => s.Minutes >= last.Minutes / 2).ToList();
        o.AppendLine("# Memory soak");
        o.AppendLine();
        o.AppendLine(CultureInfo.InvariantCulture, $"Written by `tools/bench --soak {options.SoakDuration!.Value.TotalMinutes:0.#}m --soak-rate {options.SoakRate} --soak-workers {options.SoakWorkers}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC ({BenchRunner.BuildConfiguration()} build). "
            + $"Constant paced load through the whole gateway path (auth + a token rate limit + a hard budget + accounting; 9 chats to 1 stream, upstream 0 ms) for {elapsed.TotalMinutes:F1} min after a 30 s warm-up: "
            + $"{last.Requests} requests ({last.Requests / Math.Max(1, last.Minutes * 60):F0}/s achieved), {last.Errors} errors. "
            + $"RSS (`VmRSS`) of every process and the GC heap of every .NET service (`dotnet.gc.last_collection.heap.size` from its /metrics) sampled every {s_sampleEvery.TotalSeconds:F0} s. "
            + $"**Machine: {Report.Machine}; noisy.** Memory does not depend on timing the way latency does, so the trend is meaningful on a busy machine.");
        o.AppendLine();
        o.AppendLine("Slope = least-squares fit of RSS over time (MB/min). A leak keeps a positive slope in the second half, after the heaps have grown to their working size.");
        o.AppendLine();
        o.AppendLine("| process | RSS first (MB) | RSS min | RSS max | RSS last | slope, whole run (MB/min) | slope, second half (MB/min) | GC heap last (MB) | GC heap slope, second half (MB/min) | CPU ms/request | allocated KB/request |");
        o.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var name in s_processes.Where(last.RssKb.ContainsKey))
        {
            var rss = samples.Select(s => s.RssKb.GetValueOrDefault(name) / 1024.0).ToList();
            var heapLast = last.GcHeapBytes.TryGetValue(name, out var h) ? (h / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) : "–";
            var heapSlope = s_dotnet.Contains(name) && half.All(s => s.GcHeapBytes.ContainsKey(name))
                ? Slope([.. half.Select(s => (s.Minutes, s.GcHeapBytes[name] / 1048576.0))]).ToString("+0.00;-0.00", CultureInfo.InvariantCulture)
                : "–";
            o.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {rss[0]:F0} | {rss.Min():F0} | {rss.Max():F0} | {rss[^1]:F0} | {Slope(Points(samples, name)):+0.00;-0.00} | {Slope(Points(half, name)):+0.00;-0.00} | {heapLast} | {heapSlope} | {perRequest.CpuMs.GetValueOrDefault(name):F3} | {(perRequest.AllocatedKb.TryGetValue(name, out var kb) ? kb.ToString("F1", CultureInfo.InvariantCulture) : "–")} |");
        }

        o.AppendLine();
        o.AppendLine("<details><summary>Samples (RSS MB; router GC heap MB)</summary>");
        o.AppendLine();
        o.AppendLine("| min | requests | errors | " + string.Join(" | ", s_processes.Where(last.RssKb.ContainsKey)) + " | router GC heap |");
        o.AppendLine("|--:|--:|--:|" + string.Concat(Enumerable.Repeat("--:|", s_processes.Count(last.RssKb.ContainsKey) + 1)));
        foreach (var s in samples)
        {
            var rss = string.Join(" | ", s_processes.Where(last.RssKb.ContainsKey).Select(p => (s.RssKb.GetValueOrDefault(p) / 1024.0).ToString("F0", CultureInfo.InvariantCulture)));
            var routerHeap = s.GcHeapBytes.TryGetValue("router", out var rh) ? (rh / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) : "–";
            o.AppendLine(CultureInfo.InvariantCulture, $"| {s.Minutes:F1} | {s.Requests} | {s.Errors} | {rss} | {routerHeap} |");
        }

        o.AppendLine();
        o.AppendLine("</details>");
        o.AppendLine();
        o.AppendLine("![RSS over the soak](soak.png)");
        return o.ToString();
    }

    /// <summary>CPU time (ms) and allocations (KB) per request of each process over the measured part of the soak.</summary>
    private sealed record PerRequest(IReadOnlyDictionary<string, double> CpuMs, IReadOnlyDictionary<string, double> AllocatedKb);

    private static List<(double X, double Y)> Points(IEnumerable<SoakSample> samples, string name) =>
        [.. samples.Select(s => (s.Minutes, s.RssKb.GetValueOrDefault(name) / 1024.0))];

    private static void WriteChart(List<SoakSample> samples, string file)
    {
        var plot = new Plot();
        var minutes = samples.Select(s => s.Minutes).ToArray();
        foreach (var name in s_processes.Where(samples[^1].RssKb.ContainsKey))
        {
            var line = plot.Add.Scatter(minutes, samples.Select(s => s.RssKb.GetValueOrDefault(name) / 1024.0).ToArray());
            line.LegendText = name;
            line.LineWidth = name == "router" ? 3 : 1.5f;
            line.MarkerSize = 0;
        }

        if (samples.All(s => s.GcHeapBytes.ContainsKey("router")))
        {
            var heap = plot.Add.Scatter(minutes, samples.Select(s => s.GcHeapBytes["router"] / 1048576.0).ToArray());
            heap.LegendText = "router GC heap";
            heap.LinePattern = LinePattern.Dashed;
            heap.MarkerSize = 0;
        }

        plot.Axes.Left.Label.Text = "MB (RSS; dashed: router GC heap)";
        plot.Axes.Bottom.Label.Text = $"minutes under constant load; {Environment.ProcessorCount} cores shared by load generator, mock, Redis, PostgreSQL, 4 services";
        plot.Axes.Title.Label.Text = "Memory under a constant load through the gateway";
        // From zero, so the router's GC heap (tens of MB) shows under the RSS lines.
        var top = samples.Max(s => s.RssKb.Values.DefaultIfEmpty(0).Max()) / 1024.0;
        plot.Axes.SetLimitsY(0, top * 1.1);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(file, 1200, 560);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;

namespace Gateway.Aspire.Bench;

/// <summary>One measured segment: one scenario on one path, bounded by time and by request count.</summary>
internal sealed record LoadSpec(string Url, IReadOnlyList<(string Name, string Value)> Headers, string BodyPath, int Concurrency, TimeSpan Duration, int MaxRequests, bool Stream);

/// <summary>What a segment measured.</summary>
internal sealed class LoadResult
{
    public long Requests { get; set; }

    public long Errors { get; set; }

    public double Seconds { get; set; }

    /// <summary>Whole request (to the last byte).</summary>
    public Histogram Latency { get; } = new();

    /// <summary>Streams: time to the first body byte.</summary>
    public Histogram FirstByte { get; } = new();

    /// <summary>Streams: gap between consecutive server-sent events as the client sees them.</summary>
    public Histogram ChunkGap { get; } = new();

    public void Merge(LoadResult other)
    {
        Requests += other.Requests;
        Errors += other.Errors;
        Seconds += other.Seconds;
        Latency.Merge(other.Latency);
        FirstByte.Merge(other.FirstByte);
        ChunkGap.Merge(other.ChunkGap);
    }
}

/// <summary>wrk with tools/bench/post.lua: the load generator for the non-streaming cases (C, epoll, cheap).</summary>
internal static class WrkLoad
{
    public static bool Available() => FindOnPath("wrk") is not null;

    public static async Task<LoadResult> RunAsync(LoadSpec spec, string workDirectory)
    {
        // The script lives in the started application's directory, which is deleted when that start ends:
        // a path remembered from an earlier start would make wrk run without it (plain GETs, no summary).
        var script = await WriteScriptAsync(workDirectory);
        var threads = Math.Min(2, spec.Concurrency);
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-t", threads.ToString(), "-c", spec.Concurrency.ToString(), "-d", $"{Math.Max(1, (int)spec.Duration.TotalSeconds)}s", "--timeout", "10s", "-s", script })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in spec.Headers)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add($"{name}: {value}");
        }

        start.ArgumentList.Add(spec.Url);
        start.Environment["BENCH_BODY"] = spec.BodyPath;
        start.Environment["BENCH_MAX_PER_THREAD"] = ((spec.MaxRequests + threads - 1) / threads).ToString();

        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk failed ({process.ExitCode}): {await stderr}{output}");
        }

        var result = new LoadResult();
        var summarised = false;
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["BENCH", "summary", ..])
            {
                var numbers = parts[2..].Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
                result.Requests = numbers[0];
                result.Seconds = numbers[1] / 1e6;
                result.Errors = numbers[2] + numbers[3] + numbers[4] + numbers[5] + numbers[6];
                summarised = true;
            }
            else if (parts is ["BENCH", "h", var value, var count])
            {
                result.Latency.Add((long)double.Parse(value, CultureInfo.InvariantCulture), (long)double.Parse(count, CultureInfo.InvariantCulture));
            }
        }

        // wrk exits 0 even when it cannot load its script; without post.lua's summary nothing was measured.
        if (!summarised)
        {
            throw new InvalidOperationException($"wrk printed no BENCH summary (did it load {script}?): {await stderr}{output}");
        }

        return result;
    }

    private static async Task<string> WriteScriptAsync(string workDirectory)
    {
        var path = Path.Combine(workDirectory, "post.lua");
        if (File.Exists(path))
        {
            return path;
        }

        await using var resource = Assembly.GetExecutingAssembly().GetManifestResourceStream("post.lua")!;
        await using var file = File.Create(path);
        await resource.CopyToAsync(file);
        return path;
    }

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}

/// <summary>
/// The .NET load loop: closed-loop workers over one pooled SocketsHttpHandler. Used for streams
/// (wrk cannot time events inside a response) and, with --no-wrk, for everything.
/// </summary>
internal static class HttpLoad
{
    public static async Task<LoadResult> RunAsync(LoadSpec spec)
    {
        var body = await File.ReadAllBytesAsync(spec.BodyPath);
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = spec.Concurrency,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var invoker = new HttpMessageInvoker(handler);
        var issued = 0;
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(spec.Duration.TotalSeconds * Stopwatch.Frequency);
        var results = await Task.WhenAll(Enumerable.Range(0, spec.Concurrency).Select(_ => Task.Run(async () =>
        {
            var result = new LoadResult();
            var buffer = new byte[16 * 1024];
            while (Stopwatch.GetTimestamp() < deadline && Interlocked.Increment(ref issued) <= spec.MaxRequests)
            {
                await OneAsync(invoker, spec, body, buffer, result);
            }

            return result;
        })));

        var total = new LoadResult();
        foreach (var result in results)
        {
            total.Merge(result);
        }

        total.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return total;
    }

    private static async Task OneAsync(HttpMessageInvoker invoker, LoadSpec spec, byte[] body, byte[] buffer, LoadResult result)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, spec.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        foreach (var (name, value) in spec.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var start = Stopwatch.GetTimestamp();
        try
        {
            using var response = await invoker.SendAsync(request, CancellationToken.None);
            await using var stream = await response.Content.ReadAsStreamAsync();
            long lastEvent = 0;
            var firstRead = true;
            var previousWasNewline = false;
            while (true)
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                if (!spec.Stream)
                {
                    continue;
                }

                if (firstRead)
                {
                    result.FirstByte.AddTicks(now - start);
                    firstRead = false;
                }

                // Events end with a blank line ("\n\n"); every event completed by this read arrived now.
                for (var i = 0; i < read; i++)
                {
                    var isNewline = buffer[i] == (byte)'\n';
                    if (isNewline && previousWasNewline)
                    {
                        if (lastEvent != 0)
                        {
                            result.ChunkGap.AddTicks(now - lastEvent);
                        }

                        lastEvent = now;
                        isNewline = false;
                    }

                    previousWasNewline = isNewline;
                }
            }

            result.Latency.AddTicks(Stopwatch.GetTimestamp() - start);
            result.Requests++;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                result.Errors++;
            }
        }
        catch (HttpRequestException)
        {
            result.Errors++;
        }
        catch (IOException)
        {
            result.Errors++;
        }
    }
}

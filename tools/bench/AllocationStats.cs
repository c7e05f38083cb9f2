using System.Globalization;

namespace Gateway.Aspire.Bench;

/// <summary>
/// Bytes each .NET service has allocated so far, from its own Prometheus scrape (<c>/metrics</c>,
/// the runtime's <c>dotnet.gc.heap.total_allocated</c> counter). Unlike wall-clock time and CPU
/// time, allocations per request do not depend on how busy the shared machine is, so they are the
/// steadiest A/B measure of hot-path changes.
/// </summary>
internal sealed class AllocationStats(IReadOnlyDictionary<string, Uri> scrapes) : IDisposable
{
    /// <summary>Bytes allocated since start (the runtime's counter, or the older OpenTelemetry instrumentation's name).</summary>
    public static readonly string[] TotalAllocatedMetric = ["dotnet_gc_heap_total_allocated_bytes_total", "process_runtime_dotnet_gc_allocations_size_bytes_total"];

    /// <summary>The GC heap after the last collection (<c>dotnet.gc.last_collection.heap.size</c>), summed over its generations.</summary>
    public static readonly string[] HeapSizeMetric = ["dotnet_gc_last_collection_heap_size_bytes"];

    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Scrape addresses of the router, policy, accounting and guardrails.</summary>
    public static AllocationStats For(AppUnderTest app)
    {
        var scrapes = new Dictionary<string, Uri> { ["router"] = new($"http://127.0.0.1:{app.RouterPort}/metrics") };
        foreach (var name in new[] { "policy", "accounting", "guardrails" })
        {
            scrapes[name] = new Uri(app.App.GetEndpoint(name, "http"), "/metrics");
        }

        return new AllocationStats(scrapes);
    }

    /// <summary>Allocated bytes per service; a service whose scrape fails is left out.</summary>
    public Task<Dictionary<string, long>> SampleAsync() => SampleAsync(TotalAllocatedMetric);

    /// <summary>
    /// The first of <paramref name="metricNames"/> each service exports, its series summed (a metric
    /// with labels, such as the heap size by generation, has one line per series); a service whose
    /// scrape fails is left out.
    /// </summary>
    public async Task<Dictionary<string, long>> SampleAsync(string[] metricNames)
    {
        var result = new Dictionary<string, long>();
        foreach (var (name, uri) in scrapes)
        {
            try
            {
                var lines = (await _client.GetStringAsync(uri)).Split('\n');
                foreach (var metric in metricNames)
                {
                    var found = false;
                    double sum = 0;
                    foreach (var line in lines)
                    {
                        // The name, then its labels or the value: not a longer name that starts the same.
                        if (line.StartsWith(metric, StringComparison.Ordinal) && line.Length > metric.Length && line[metric.Length] is '{' or ' '
                            && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                        {
                            sum += value;
                            found = true;
                        }
                    }

                    if (found)
                    {
                        result[name] = (long)sum;
                        break;
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Reported as "–".
            }
        }

        return result;
    }

    public void Dispose() => _client.Dispose();
}

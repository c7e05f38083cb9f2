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
    private static readonly string[] s_metricNames = ["dotnet_gc_heap_total_allocated_bytes_total", "process_runtime_dotnet_gc_allocations_size_bytes_total"];
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
    public async Task<Dictionary<string, long>> SampleAsync()
    {
        var result = new Dictionary<string, long>();
        foreach (var (name, uri) in scrapes)
        {
            try
            {
                var text = await _client.GetStringAsync(uri);
                foreach (var line in text.Split('\n'))
                {
                    if (s_metricNames.Any(m => line.StartsWith(m, StringComparison.Ordinal)))
                    {
                        var value = line[(line.LastIndexOf(' ') + 1)..];
                        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var bytes))
                        {
                            result[name] = (long)bytes;
                        }

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

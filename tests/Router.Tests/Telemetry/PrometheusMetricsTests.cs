using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Gateway.Aspire.Router.Tests.TestHosts;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// The gateway's Prometheus metrics, scraped from the router's <c>/metrics</c> before and after real
/// calls: every series must move by exactly what the calls did.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed partial class PrometheusMetricsTests(RouterAppFixture app, TelemetryAppFixture telemetry) : IAsyncLifetime
{
    private const string Model = TelemetryAppFixture.Model;

    public ValueTask InitializeAsync() => new(telemetry.StartAsync(app));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Requests_tokens_cost_latency_and_budget_refusals_are_counted()
    {
        var series = new (string Name, string Labels)[]
        {
            ("gateway_requests_total", $"model={Model},provider=openai-compatible,status=200"),
            ("gateway_requests_total", $"model={Model},provider=,status=429"),
            ("gateway_tokens_total", $"kind=prompt,model={Model}"),
            ("gateway_tokens_total", $"kind=completion,model={Model}"),
            ("gateway_cost_usd_total", $"model={Model},team=team-a"),
            ("gateway_request_duration_seconds_count", $"model={Model}"),
            ("gateway_time_to_first_token_seconds_count", $"model={Model}"),
            ("gateway_budget_exceeded_total", $"model={Model}"),
        };
        var before = await ScrapeAsync();
        string[] questions = ["Count me once", "Count me twice", "Count me thrice"];
        using var member = telemetry.Client(TestPolicy.TeamMemberToken);
        foreach (var (question, i) in questions.Select((q, i) => (q, i)))
        {
            var stream = i == 2 ? ",\"stream\":true" : "";
            using var response = await member.PostAsync("/v1/chat/completions", Json($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"{{question}}"}]{{stream}}}"""), Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync(Cancellation);
        }

        using var broke = telemetry.Client(TestPolicy.BrokeToken);
        using var refused = await broke.PostAsync("/v1/chat/completions", Json($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"x"}]}"""), Cancellation);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        var prompt = questions.Sum(q => MockPromptTokens(q));
        var completion = questions.Sum(q => Words(MockAnswer(q)));
        double[] expected = [3, 1, prompt, completion, (prompt * 0.15 + completion * 0.60) / 1e6, 3, 1, 1];
        var after = await ScrapeUntilAsync(scrape => Value(scrape, series[0]) - Value(before, series[0]) >= 3 && Value(scrape, series[6]) - Value(before, series[6]) >= 1);
        double[] actual = [.. series.Select(s => Value(after, s) - Value(before, s))];

        AssertNoCounterWentDown(before, after);
        Assert.Equal(expected[..4], actual[..4]);
        Assert.Equal(expected[4], actual[4], 1e-12);
        Assert.Equal(expected[5..], actual[5..]);
    }

    [Fact]
    public async Task Counters_keep_counting_and_count_only_this_router_when_another_router_in_the_process_stops()
    {
        // Every router in a process creates the same instruments on meters of its own. The exporter used to
        // merge them and, when another router stopped and its meters were disposed, retire the merged
        // stream: this router's series vanished or started again from zero.
        var ours = ("gateway_requests_total", $"model={Model},provider=openai-compatible,status=200");
        var theirs = ("gateway_requests_total", "model=mock/gpt-4o-mini,provider=openai-compatible,status=200");
        var before = await ScrapeAsync();

        var directory = Testing.TestDirectories.Create("metrics-other-router");
        try
        {
            var configPath = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(configPath, RouterAppFixture.GatewayYaml(app.MockUrl, RouterAppFixture.FreePort()), Cancellation);
            await using var other = RouterAppFixture.BuildRouter(configPath, app.GrpcUrl.ToString().TrimEnd('/'));
            await other.StartAsync(Cancellation);
            using (var client = new HttpClient { BaseAddress = new Uri(other.Urls.First()) })
            {
                client.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.GoodToken);
                using var response = await client.PostAsync("/v1/chat/completions", Json("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"Count me elsewhere"}]}"""), Cancellation);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await other.StopAsync(Cancellation);
        }
        finally
        {
            Testing.TestDirectories.Delete(directory);
        }

        var between = await ScrapeAsync(); // the first scrape after the other router's meters were disposed
        using var member = telemetry.Client(TestPolicy.TeamMemberToken);
        using (var response = await member.PostAsync("/v1/chat/completions", Json($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"Count me after"}]}"""), Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var after = await ScrapeUntilAsync(scrape => Value(scrape, ours) - Value(before, ours) >= 1);

        AssertNoCounterWentDown(before, between);
        AssertNoCounterWentDown(between, after);
        Assert.Equal(1, Value(after, ours) - Value(before, ours));
        Assert.Equal(0, Value(after, theirs) - Value(before, theirs)); // the other router's call is on its own /metrics
    }

    /// <summary>
    /// Every counter series (<c>_total</c>, and a histogram's <c>_count</c> and <c>_bucket</c>) of
    /// <paramref name="earlier"/> is still in <paramref name="later"/>, with at least its value: a
    /// counter that goes down or vanishes breaks every <c>rate()</c> over it.
    /// </summary>
    private static void AssertNoCounterWentDown(Dictionary<(string, string), double> earlier, Dictionary<(string, string), double> later)
    {
        var decreased = earlier
            .Where(e => e.Key.Item1.EndsWith("_total", StringComparison.Ordinal) || e.Key.Item1.EndsWith("_count", StringComparison.Ordinal)
                || e.Key.Item1.EndsWith("_bucket", StringComparison.Ordinal))
            .Where(e => !later.TryGetValue(e.Key, out var value) || value < e.Value)
            .Select(e => $"{e.Key.Item1}{{{e.Key.Item2}}} {e.Value} -> {(later.TryGetValue(e.Key, out var value) ? value : "missing")}")
            .ToList();
        Assert.True(decreased.Count == 0, "counters went down: " + string.Join("; ", decreased));
    }

    private static double Value(Dictionary<(string, string), double> scrape, (string Name, string Labels) series) =>
        scrape.GetValueOrDefault(series);

    /// <summary>The exporter may answer a scrape from its short cache: scrapes until <paramref name="done"/> (or 5 s pass).</summary>
    private async Task<Dictionary<(string, string), double>> ScrapeUntilAsync(Func<Dictionary<(string, string), double>, bool> done)
    {
        var scrape = await ScrapeAsync();
        for (var attempt = 0; attempt < 50 && !done(scrape); attempt++)
        {
            await Task.Delay(100, Cancellation);
            scrape = await ScrapeAsync();
        }

        return scrape;
    }

    /// <summary>The scrape as (name, sorted labels without OpenTelemetry's scope labels) → value.</summary>
    private async Task<Dictionary<(string, string), double>> ScrapeAsync()
    {
        using var client = telemetry.Client(token: null);
        var text = await client.GetStringAsync("/metrics", Cancellation);
        var values = new Dictionary<(string, string), double>();
        foreach (Match m in SeriesLine().Matches(text))
        {
            var labels = LabelPair().Matches(m.Groups["labels"].Value)
                .Where(l => !l.Groups[1].Value.StartsWith("otel_", StringComparison.Ordinal))
                .Select(l => $"{l.Groups[1].Value}={l.Groups[2].Value}")
                .Order(StringComparer.Ordinal);
            values[(m.Groups["name"].Value, string.Join(',', labels))] = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return values;
    }

    [GeneratedRegex("""^(?<name>gateway_[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)""", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex LabelPair();
}

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
        double[] actual = [];
        // The exporter may answer a scrape from its short cache: scrape until the calls show (or 5 s pass).
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var after = await ScrapeAsync();
            actual = [.. series.Select(s => Value(after, s) - Value(before, s))];
            if (actual[0] >= 3 && actual[6] >= 1)
            {
                break;
            }

            await Task.Delay(100, Cancellation);
        }

        Assert.Equal(expected[..4], actual[..4]);
        Assert.Equal(expected[4], actual[4], 1e-12);
        Assert.Equal(expected[5..], actual[5..]);
    }

    private static double Value(Dictionary<(string, string), double> scrape, (string Name, string Labels) series) =>
        scrape.GetValueOrDefault(series);

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

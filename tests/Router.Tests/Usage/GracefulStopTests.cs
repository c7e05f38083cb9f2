using System.Text;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Usage;

/// <summary>
/// A router stopped gracefully (SIGTERM, Ctrl-C, a scale-in) finishes the requests it is serving
/// and ships every usage record, those of the finishing requests and those still queued, before
/// it exits. A router of its own, because it is stopped; the fixture's ledger double records.
/// </summary>
public sealed class GracefulStopTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static string Body(string model, bool stream) =>
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"Explain how a gateway bills a call."}]}""";

    [Fact]
    public async Task Requests_in_flight_and_records_queued_at_a_graceful_stop_all_reach_the_ledger()
    {
        var directory = Testing.TestDirectories.Create("router-stop");
        try
        {
            var configPath = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(configPath, RouterAppFixture.GatewayYaml(app.MockUrl, RouterAppFixture.FreePort()), Cancellation);
            // A long linger holds finished requests' records in the queue: only the stop's drain ships them.
            var router = RouterAppFixture.BuildRouter(configPath, app.GrpcUrl.ToString().TrimEnd('/'), new Dictionary<string, string?>
            {
                ["Router:UsageBatchDelay"] = "00:05:00",
                ["Router:UsageBatchSize"] = "1000",
            });
            await router.StartAsync(Cancellation);
            using var client = new HttpClient { BaseAddress = new Uri(router.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.GoodToken);
            var prefix = "stop-" + Guid.NewGuid().ToString("N") + "-";

            // Finished before the stop: their records wait in the queue.
            var queued = Enumerable.Range(0, 30).Select(i => PostAsync(client, prefix + "queued-" + i, "mock/gpt-4o-mini", stream: false));
            Assert.All(await Task.WhenAll(queued), body => Assert.Contains("\"usage\"", body, StringComparison.Ordinal));

            // In flight at the stop: slow streams (150 ms a chunk) whose headers have arrived.
            var streams = new List<(Task<string> Body, string Id)>();
            var started = new List<Task>();
            for (var i = 0; i < 10; i++)
            {
                var id = prefix + "streaming-" + i;
                var headers = new TaskCompletionSource();
                started.Add(headers.Task);
                streams.Add((StreamAsync(client, id, headers), id));
            }

            await Task.WhenAll(started);
            await router.StopAsync(CancellationToken.None);

            foreach (var (body, _) in streams)
            {
                Assert.EndsWith("data: [DONE]\n\n", await body, StringComparison.Ordinal);
            }

            Assert.All(Enumerable.Range(0, 30), i => Assert.True(app.Ledger.TryGet(prefix + "queued-" + i, out _), $"queued record {i} missing"));
            Assert.All(streams, s =>
            {
                Assert.True(app.Ledger.TryGet(s.Id, out var record), $"{s.Id} missing");
                Assert.Equal(200, record.StatusCode);
                Assert.True(record.CompletionTokens > 0);
            });
            await router.DisposeAsync();
        }
        finally
        {
            Testing.TestDirectories.Delete(directory);
        }
    }

    private static async Task<string> PostAsync(HttpClient client, string requestId, string model, bool stream)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body(model, stream), Encoding.UTF8, "application/json") };
        request.Headers.Add("x-request-id", requestId);
        using var response = await client.SendAsync(request, Cancellation);
        return await response.Content.ReadAsStringAsync(Cancellation);
    }

    private static async Task<string> StreamAsync(HttpClient client, string requestId, TaskCompletionSource headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body("slow/gpt-4o-mini", stream: true), Encoding.UTF8, "application/json") };
        request.Headers.Add("x-request-id", requestId);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        headers.SetResult();
        return await response.Content.ReadAsStringAsync(Cancellation);
    }
}

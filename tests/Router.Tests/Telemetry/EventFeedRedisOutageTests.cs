using System.Net;
using System.Text.Json;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Router.Tests.Providers.EndToEnd;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.ServiceDefaults.Events;
using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// The live feed (<c>GET /admin/v1/events</c>) across Redis outages: a real redis-server stopped and
/// started again on the same port under a running router. While it is away a new client gets a 503 in
/// OpenAI's error format (never a 500, never a hung request); once it is back the next client gets the
/// feed, with no restart of the router, and clients connected before the outage get events again.
/// </summary>
public sealed class EventFeedRedisOutageTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_Redis_is_away_the_feed_answers_503_and_it_serves_again_once_Redis_is_back()
    {
        var directory = TestDirectories.Create("events-outage");
        var options = new RedisServerOptions { DataDirectory = Path.Combine(directory, "redis"), Output = TextWriter.Null, ToolManifestDirectory = RepositoryRoot.Find() };
        var redis = await RedisServer.StartAsync(options, Cancellation);
        options = options with { Port = redis.Port };
        try
        {
            var gatewayConfig = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(gatewayConfig, RouterAppFixture.GatewayYaml(app.MockUrl, RouterAppFixture.FreePort()), Cancellation);
            await using var router = RouterAppFixture.BuildRouter(gatewayConfig, app.GrpcUrl.ToString().TrimEnd('/'),
                new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redis.ConnectionString });
            await router.StartAsync(Cancellation);
            var connection = router.Services.GetRequiredService<IConnectionMultiplexer>();
            using var admin = new HttpClient { BaseAddress = new Uri(router.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
            admin.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.AdminKey);

            // 1. The very first client arrives while Redis is down: the feed has never subscribed.
            await redis.StopAsync();
            await UntilAsync(() => !connection.IsConnected);
            await AssertUnavailableAsync(admin);

            // 2. Redis is back: the next client gets the feed, which carries events.
            redis = await RedisServer.StartAsync(options, Cancellation);
            await using var early = await OpenWhenBackAsync(admin);
            var first = await CompleteAsync(router, "outage-first");
            await early.ReadUntilAsync(e => IsCompletionOf(e, first));

            // 3. Down again with that client connected: newcomers are refused, the client keeps its stream.
            await redis.StopAsync();
            await UntilAsync(() => !connection.IsConnected);
            await AssertUnavailableAsync(admin);

            // 4. Back again: a newcomer is served, and both see the same new events.
            redis = await RedisServer.StartAsync(options, Cancellation);
            await using var late = await OpenWhenBackAsync(admin);
            var second = await CompleteAsync(router, "outage-second");
            var seenLate = await late.ReadUntilAsync(e => IsCompletionOf(e, second));
            var seenEarly = await early.ReadUntilAsync(e => IsCompletionOf(e, second));
            Assert.Contains(seenEarly, e => IsCompletionOf(e, second));
            Assert.Equal(
                [GatewayEventTypes.RequestStart, GatewayEventTypes.RequestComplete],
                seenLate.Where(e => e.GetProperty("request_id").GetString() == second).Select(e => e.GetProperty("type").GetString()));
            Assert.DoesNotContain(seenLate, e => e.GetProperty("request_id").GetString() == first);

            // Closed before the router stops: a stop waits for open requests, and the feed never ends by itself.
            await early.DisposeAsync();
            await late.DisposeAsync();
            await router.StopAsync(Cancellation);
        }
        finally
        {
            await redis.DisposeAsync();
            TestDirectories.Delete(directory);
        }
    }

    private static bool IsCompletionOf(JsonElement e, string requestId) =>
        e.GetProperty("type").GetString() == GatewayEventTypes.RequestComplete && e.GetProperty("request_id").GetString() == requestId;

    /// <summary>A new client is answered 503 in OpenAI's error format, with a Retry-After.</summary>
    private static async Task AssertUnavailableAsync(HttpClient admin)
    {
        using var response = await admin.GetAsync("/admin/v1/events", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(("service_unavailable", "events_unavailable"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        Assert.Contains("Redis", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Opens the feed as a dashboard retrying after a 503 would, until the router has reconnected to Redis.</summary>
    private static async Task<EventFeedClient> OpenWhenBackAsync(HttpClient admin)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            using (var probe = await admin.GetAsync("/admin/v1/events", HttpCompletionOption.ResponseHeadersRead, deadline.Token))
            {
                if (probe.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
                    break;
                }
            }

            await Task.Delay(200, deadline.Token);
        }

        return await EventFeedClient.OpenAsync(admin);
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }

    /// <summary>One non-streamed completion through <paramref name="router"/>; returns its request id.</summary>
    private static async Task<string> CompleteAsync(WebApplication router, string prefix)
    {
        var requestId = GatewayClients.NewRequestId(prefix);
        using var client = new HttpClient { BaseAddress = new Uri(router.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestPolicy.GoodToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = GatewayClients.Json("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"Are you there?"}]}"""),
        };
        request.Headers.Add("x-request-id", requestId);
        using var response = await client.SendAsync(request, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync(Cancellation);
        return requestId;
    }
}

using System.Collections.Concurrent;
using System.Net;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.Router.Tests.Providers.EndToEnd;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.ServiceDefaults.Events;
using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// Events on a Redis server without streams: a real redis-server whose <c>XADD</c> is renamed away in
/// its config file, as a Redis before 5 or a compatible server without streams answers. The feed lives
/// on pub/sub, so it must carry on untouched.
/// </summary>
public sealed class StreamlessRedisEventsTests(RouterAppFixture app)
{
    [Fact]
    public async Task Without_streams_events_still_reach_the_live_feed_and_nothing_fails_or_is_dropped()
    {
        var ct = TestContext.Current.CancellationToken;
        var directory = TestDirectories.Create("redis-no-streams");
        try
        {
            await using var redis = await StreamlessRedisServer.StartAsync(directory, ct);
            await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
            var refused = await Assert.ThrowsAsync<RedisServerException>(() => connection.GetDatabase().StreamAddAsync("probe", "f", "v"));
            Assert.Contains("unknown command", refused.Message, StringComparison.OrdinalIgnoreCase);

            var gatewayConfig = Path.Combine(directory, "gateway.yaml");
            await File.WriteAllTextAsync(gatewayConfig, RouterAppFixture.GatewayYaml(app.MockUrl, RouterAppFixture.FreePort()), ct);
            await using var router = RouterAppFixture.BuildRouter(gatewayConfig, app.GrpcUrl.ToString().TrimEnd('/'),
                new Dictionary<string, string?> { ["ConnectionStrings:redis"] = redis.ConnectionString });
            var problems = new WarningCollector();
            router.Services.GetRequiredService<ILoggerFactory>().AddProvider(problems);
            await router.StartAsync(ct);

            using var admin = Client(router, TestPolicy.AdminKey);
            var requestIds = new List<string>();
            // Closed before the router stops: a stop waits for open requests, and the feed never ends by itself.
            var feed = await EventFeedClient.OpenAsync(admin);
            List<System.Text.Json.JsonElement> seen;
            try
            {
                foreach (var stream in new[] { true, false })
                {
                    var requestId = GatewayClients.NewRequestId("no-streams");
                    requestIds.Add(requestId);
                    using var client = Client(router, TestPolicy.GoodToken);
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                    {
                        Content = GatewayClients.Json($$"""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"No streams here"}],"stream":{{(stream ? "true" : "false")}}}"""),
                    };
                    request.Headers.Add("x-request-id", requestId);
                    using var response = await client.SendAsync(request, ct);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    await response.Content.ReadAsStringAsync(ct);
                }

                seen = await feed.ReadUntilAsync(e => e.GetProperty("type").GetString() == GatewayEventTypes.RequestComplete
                    && e.GetProperty("request_id").GetString() == requestIds[1]);
            }
            finally
            {
                await feed.DisposeAsync();
            }

            Assert.Equal(
                [GatewayEventTypes.RequestStart, GatewayEventTypes.StreamingStart, GatewayEventTypes.RequestComplete, GatewayEventTypes.RequestStart, GatewayEventTypes.RequestComplete],
                seen.Where(e => requestIds.Contains(e.GetProperty("request_id").GetString()!)).Select(e => e.GetProperty("type").GetString()));

            var publisher = router.Services.GetRequiredService<GatewayEventPublisher>();
            Assert.Equal((false, 0L), (publisher.StreamsSupported, publisher.Dropped));
            Assert.False(await connection.GetDatabase().KeyExistsAsync(GatewayEventChannel.Stream));
            await router.StopAsync(ct);
            Assert.Empty(problems.Entries);
        }
        finally
        {
            TestDirectories.Delete(directory);
        }
    }

    private static HttpClient Client(WebApplication router, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(router.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    /// <summary>Every warning or error the router logs, with its category.</summary>
    private sealed class WarningCollector : ILoggerProvider
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    entries.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
                }
            }
        }
    }
}

using System.Diagnostics.Metrics;
using System.Text.Json;
using Gateway.Aspire.Router.Telemetry;
using Gateway.Aspire.ServiceDefaults.Data;
using Gateway.Aspire.ServiceDefaults.Events;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// Two gateways sharing one real Redis server on different databases: the event feed
/// (<c>GET /admin/v1/events</c>) of one never shows the other's events, while replicas of one gateway
/// (same database) still see each other's. The publisher and the feed are the router's own.
/// </summary>
public sealed class EventChannelIsolationTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public void Channels_on_database_0_keep_their_names_and_others_name_their_database()
    {
        Assert.Equal("gateway.events", RedisChannels.Name(GatewayEventChannel.Channel, 0));
        Assert.Equal("gateway.events:db3", RedisChannels.Name(GatewayEventChannel.Channel, 3));
    }

    [Fact]
    public async Task Events_reach_the_feeds_of_their_own_database_only()
    {
        var first = redis.NextDatabase();
        await using var gatewayA = await Replica.StartAsync(first);
        await using var gatewayA2 = await Replica.StartAsync(first);
        await using var gatewayB = await Replica.StartAsync(redis.NextDatabase());
        using var feedA = await JoinAsync(gatewayA.Feed);
        using var feedA2 = await JoinAsync(gatewayA2.Feed);
        using var feedB = await JoinAsync(gatewayB.Feed);

        gatewayA.Publish("a-1");
        Assert.Equal("a-1", await NextAsync(feedA));
        Assert.Equal("a-1", await NextAsync(feedA2));

        // Each feed receives in publication order over its one connection: had a-1 reached B, it would come before b-1.
        gatewayB.Publish("b-1");
        Assert.Equal("b-1", await NextAsync(feedB));
        gatewayA2.Publish("a-2");
        Assert.Equal("a-2", await NextAsync(feedA));
        Assert.Equal("a-2", await NextAsync(feedA2));
        gatewayB.Publish("b-2");
        Assert.Equal("b-2", await NextAsync(feedB));
    }

    private static async Task<EventFeed.Lease> JoinAsync(EventFeed feed)
    {
        var lease = await feed.TryJoinAsync(TestContext.Current.CancellationToken);
        Assert.NotNull(lease);
        return lease;
    }

    private static async Task<string?> NextAsync(EventFeed.Lease feed)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var json = await feed.Events.ReadAsync(timeout.Token);
        return JsonDocument.Parse(json).RootElement.GetProperty("request_id").GetString();
    }

    /// <summary>One router replica's event publisher and live feed, on its own Redis connection.</summary>
    private sealed class Replica(ServiceProvider services, GatewayEventPublisher publisher) : IAsyncDisposable
    {
        public EventFeed Feed { get; } = new(publisher, services);

        public static async Task<Replica> StartAsync(string connectionString)
        {
            var services = new ServiceCollection().AddMetrics()
                .AddSingleton<IConnectionMultiplexer>(await ConnectionMultiplexer.ConnectAsync(connectionString))
                .BuildServiceProvider();
            var publisher = new GatewayEventPublisher(services, Options.Create(new GatewayEventOptions()),
                services.GetRequiredService<IMeterFactory>(), NullLogger<GatewayEventPublisher>.Instance);
            await publisher.StartAsync(TestContext.Current.CancellationToken);
            return new Replica(services, publisher);
        }

        public void Publish(string requestId) => Assert.True(publisher.Publish(new StreamingStartEvent
        {
            Time = DateTimeOffset.UtcNow, RequestId = requestId, Model = "m", ServedModel = "m", Provider = "p", TimeToFirstTokenMs = 1,
        }));

        public async ValueTask DisposeAsync()
        {
            await publisher.StopAsync(TestContext.Current.CancellationToken);
            await services.GetRequiredService<IConnectionMultiplexer>().DisposeAsync();
            await services.DisposeAsync();
        }
    }
}

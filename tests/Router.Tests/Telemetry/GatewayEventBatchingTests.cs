using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Gateway.Aspire.ServiceDefaults.Data;
using Gateway.Aspire.ServiceDefaults.Events;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>
/// The publisher against a real redis-server: events go in batches, one script call per batch, and
/// still reach the stream (capped) and the channel one by one, in order, at most once.
/// </summary>
public sealed class GatewayEventBatchingTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private sealed class NumberedEvent : GatewayEvent
    {
        public override string Type => GatewayEventTypes.RequestComplete;

        public int Number { get; init; }

        protected override void WriteFields(Utf8JsonWriter writer) => writer.WriteNumber("number", Number);
    }

    [Fact]
    public async Task Queued_events_go_in_one_script_call_per_batch_and_reach_stream_and_channel_in_order()
    {
        await using var connection = await ConnectAsync();
        var received = await SubscribeAsync(connection);
        await using var publisher = Publisher.Create(connection, new GatewayEventOptions { BatchSize = 100 });
        for (var n = 1; n <= 250; n++)
        {
            Assert.True(publisher.Instance.Publish(Event(n)));
        }

        // Stop right after start: the shipper's loop still drains the queue, in full batches.
        await publisher.Instance.StartAsync(TestContext.Current.CancellationToken);
        await publisher.Instance.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal((250L, 0L, true), (publisher.Instance.Published, publisher.Instance.Dropped, publisher.Instance.StreamsSupported));
        var stats = await CommandStatsAsync(connection);
        Assert.Equal((3L, 250L, 250L), (stats.GetValueOrDefault("evalsha") + stats.GetValueOrDefault("eval"), stats["xadd"], stats["publish"]));

        var stream = await connection.GetDatabase().StreamRangeAsync(GatewayEventChannel.Stream);
        Assert.Equal(Enumerable.Range(1, 250), stream.Select(entry => Number(entry["event"])));
        var messages = await ReceiveAsync(received, 250);
        Assert.Equal(Enumerable.Range(1, 250), messages.Select(Number));
        var first = JsonDocument.Parse((string)messages[0]!).RootElement;
        Assert.Equal((GatewayEventTypes.RequestComplete, "r1", "m"), (first.GetProperty("type").GetString(), first.GetProperty("request_id").GetString(), first.GetProperty("model").GetString()));
    }

    [Fact]
    public async Task The_loop_lingers_for_more_events_and_a_stop_sends_what_is_left()
    {
        await using var connection = await ConnectAsync();
        var received = await SubscribeAsync(connection);
        // A long linger: the first batch can only leave full (five events), the rest only on stop.
        await using var publisher = Publisher.Create(connection, new GatewayEventOptions { BatchSize = 5, BatchDelay = TimeSpan.FromMinutes(5) });
        await publisher.Instance.StartAsync(TestContext.Current.CancellationToken);
        for (var n = 1; n <= 7; n++)
        {
            Assert.True(publisher.Instance.Publish(Event(n)));
        }

        Assert.Equal([1, 2, 3, 4, 5], (await ReceiveAsync(received, 5)).Select(Number));
        await publisher.Instance.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal([6, 7], (await ReceiveAsync(received, 2)).Select(Number));
        var stats = await CommandStatsAsync(connection);
        Assert.Equal((2L, 7L), (stats.GetValueOrDefault("evalsha") + stats.GetValueOrDefault("eval"), stats["publish"]));
        Assert.Equal((7L, 0L), (publisher.Instance.Published, publisher.Instance.Dropped));
    }

    [Fact]
    public async Task The_stream_stays_capped()
    {
        await using var connection = await ConnectAsync();
        var db = connection.GetDatabase();
        // Fill the stream to its cap server-side (fast), then let the publisher add a batch.
        await db.ScriptEvaluateAsync(
            "for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', 'event', 'old') end",
            [GatewayEventChannel.Stream], [GatewayEventChannel.StreamMaxLength]);
        await using var publisher = Publisher.Create(connection, new GatewayEventOptions());
        for (var n = 1; n <= 500; n++)
        {
            publisher.Instance.Publish(Event(n));
        }

        await publisher.Instance.StartAsync(TestContext.Current.CancellationToken);
        await publisher.Instance.StopAsync(TestContext.Current.CancellationToken);

        // MAXLEN ~ trims whole stream nodes (100 entries each): the length ends between the cap and a node above it.
        var length = await db.StreamLengthAsync(GatewayEventChannel.Stream);
        Assert.InRange(length, GatewayEventChannel.StreamMaxLength, GatewayEventChannel.StreamMaxLength + 100);
        var newest = await db.StreamRangeAsync(GatewayEventChannel.Stream, count: 1, messageOrder: Order.Descending);
        Assert.Equal(500, Number(newest[0]["event"]));
    }

    private static NumberedEvent Event(int n) => new() { Time = DateTimeOffset.UtcNow, RequestId = $"r{n}", Model = "m", Number = n };

    private static int Number(RedisValue json) => JsonDocument.Parse((string)json!).RootElement.GetProperty("number").GetInt32();

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.NextDatabase() + ",allowAdmin=true");
        // This class's own server: its command counts are this test's alone once reset.
        await connection.GetServers()[0].ConfigResetStatisticsAsync();
        return connection;
    }

    private static async Task<ChannelMessageQueue> SubscribeAsync(ConnectionMultiplexer connection) =>
        await connection.GetSubscriber().SubscribeAsync(RedisChannels.For(connection, GatewayEventChannel.Channel));

    private static async Task<List<RedisValue>> ReceiveAsync(ChannelMessageQueue queue, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var messages = new List<RedisValue>(count);
        while (messages.Count < count)
        {
            messages.Add((await queue.ReadAsync(timeout.Token)).Message);
        }

        return messages;
    }

    /// <summary>Calls per command from <c>INFO commandstats</c> (commands a script runs count too).</summary>
    private static async Task<Dictionary<string, long>> CommandStatsAsync(ConnectionMultiplexer connection)
    {
        var info = await connection.GetServers()[0].InfoAsync("commandstats");
        return info.SelectMany(group => group).ToDictionary(
            pair => pair.Key["cmdstat_".Length..],
            pair => long.Parse(pair.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
    }

    /// <summary>A publisher on a test connection, disposed with its services.</summary>
    private sealed class Publisher(ServiceProvider services, GatewayEventPublisher instance) : IAsyncDisposable
    {
        public GatewayEventPublisher Instance => instance;

        public static Publisher Create(IConnectionMultiplexer connection, GatewayEventOptions options)
        {
            var services = new ServiceCollection().AddMetrics().AddSingleton(connection).BuildServiceProvider();
            return new Publisher(services, new GatewayEventPublisher(services, Options.Create(options),
                services.GetRequiredService<IMeterFactory>(), NullLogger<GatewayEventPublisher>.Instance));
        }

        public async ValueTask DisposeAsync()
        {
            instance.Dispose();
            await services.DisposeAsync();
        }
    }
}

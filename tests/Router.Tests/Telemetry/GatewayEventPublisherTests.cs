using System.Diagnostics.Metrics;
using System.Text.Json;
using Gateway.Aspire.ServiceDefaults.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Router.Tests.Telemetry;

/// <summary>The publisher without Redis: a full queue drops and counts instead of waiting, and what was queued is delivered in order.</summary>
public sealed class GatewayEventPublisherTests
{
    private sealed class TestEvent : GatewayEvent
    {
        public override string Type => GatewayEventTypes.RequestStart;

        public int Number { get; init; }

        protected override void WriteFields(Utf8JsonWriter writer) => writer.WriteNumber("number", Number);
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_and_the_rest_arrives_in_order_on_stop()
    {
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var publisher = new GatewayEventPublisher(services, Options.Create(new GatewayEventOptions { Capacity = 2 }),
            services.GetRequiredService<IMeterFactory>(), NullLogger<GatewayEventPublisher>.Instance);
        var delivered = new List<JsonElement>();
        publisher.LocalDelivery += json => delivered.Add(JsonDocument.Parse(json).RootElement.Clone());
        var time = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var accepted = Enumerable.Range(1, 3).Select(n => publisher.Publish(new TestEvent { Time = time, RequestId = $"r{n}", Model = "m", Number = n })).ToList();
        await publisher.StartAsync(TestContext.Current.CancellationToken);
        await publisher.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal([true, true, false], accepted);
        Assert.Equal((1, 2L, false), (publisher.Dropped, publisher.Published, publisher.UsesRedis));
        Assert.Equal([1, 2], delivered.Select(e => e.GetProperty("number").GetInt32()));
        var first = delivered[0];
        Assert.Equal(("model.request.start", "r1", "m", time), (first.GetProperty("type").GetString(), first.GetProperty("request_id").GetString(),
            first.GetProperty("model").GetString(), first.GetProperty("time").GetDateTimeOffset()));
        Assert.Equal(7, Guid.Parse(first.GetProperty("id").GetString()!).Version);
    }
}

using Gateway.Aspire.Router.Routing;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Routing;

public sealed class RedisRoutingStateStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Replicas_share_samples_within_the_window_and_keep_only_the_newest()
    {
        await using var connectionA = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var connectionB = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var a = new RedisRoutingStateStore(connectionA);
        var b = new RedisRoutingStateStore(connectionB);
        var options = new RoutingOptions { LatencyWindow = TimeSpan.FromMinutes(20), LatencyMaxSamples = 3 };
        var target = "t-" + Guid.NewGuid().ToString("N") + "/m";
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        a.AddSample(target, time.GetUtcNow(), 100, options);
        time.Advance(TimeSpan.FromMinutes(10));
        foreach (var tpot in new[] { 10.0, 20, 30 })
        {
            b.AddSample(target, time.GetUtcNow(), tpot, options);
        }

        await connectionB.GetDatabase().PingAsync(); // fire-and-forget writes are ordered before this reply
        // Only the newest three are kept, whichever replica wrote them.
        Assert.Equal(new TpotStats(20, 3), await a.ReadAsync(target, time.GetUtcNow() - options.LatencyWindow));

        // Twenty minutes after the last three, they have left the window.
        time.Advance(TimeSpan.FromMinutes(20) + TimeSpan.FromMilliseconds(1));
        Assert.Equal(default, await b.ReadAsync(target, time.GetUtcNow() - options.LatencyWindow));
    }

    [Fact]
    public async Task A_sticky_binding_is_seen_by_another_replica_until_broken()
    {
        await using var connectionA = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var connectionB = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var a = new RedisRoutingStateStore(connectionA);
        var b = new RedisRoutingStateStore(connectionB);
        var key = "rule:" + Guid.NewGuid().ToString("N");

        await a.SetStickyAsync(key, "x/m", TimeSpan.FromMinutes(1));
        Assert.Equal("x/m", await b.GetStickyAsync(key));
        Assert.True(await connectionA.GetDatabase().KeyTimeToLiveAsync("router:sticky:" + key) <= TimeSpan.FromMinutes(1));

        b.ClearSticky(key);
        await connectionB.GetDatabase().PingAsync();
        Assert.Null(await a.GetStickyAsync(key));
    }
}

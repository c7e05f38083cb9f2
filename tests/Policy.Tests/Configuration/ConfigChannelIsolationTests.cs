using Gateway.Aspire.Policy.Configuration;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.ServiceDefaults.Data;
using Gateway.Aspire.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Configuration;

/// <summary>
/// Two gateways sharing one real Redis server on different databases: policy's configuration
/// publication announces a new version (<c>gateway:config:changed</c>) to the services of its own
/// database only; another connection to the same database still hears it.
/// </summary>
public sealed class ConfigChannelIsolationTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_configuration_notice_reaches_its_own_database_only()
    {
        // A server of its own: the assembly's hands its databases out again, and this test publishes versions.
        await using var server = new RedisServerFixture();
        await server.InitializeAsync();
        var first = server.NextDatabase();
        await using var policyA = await ConnectionMultiplexer.ConnectAsync(first);
        await using var serviceA = await ConnectionMultiplexer.ConnectAsync(first);
        var second = server.NextDatabase();
        await using var policyB = await ConnectionMultiplexer.ConnectAsync(second);
        await using var serviceB = await ConnectionMultiplexer.ConnectAsync(second);
        var heardA = await serviceA.GetSubscriber().SubscribeAsync(RedisChannels.For(serviceA, LiveConfigChannel.Channel));
        var heardB = await serviceB.GetSubscriber().SubscribeAsync(RedisChannels.For(serviceB, LiveConfigChannel.Channel));

        Assert.True(await new ConfigPublisher(policyA).PublishAsync(7, "type: a"));
        Assert.Equal("7", (await heardA.ReadAsync(Cancellation)).Message.ToString());

        // One connection delivers in order: had version 7 reached database B's services, it would come first.
        Assert.True(await new ConfigPublisher(policyB).PublishAsync(3, "type: b"));
        Assert.Equal("3", (await heardB.ReadAsync(Cancellation)).Message.ToString());
        Assert.True(await new ConfigPublisher(policyA).PublishAsync(8, "type: a"));
        Assert.Equal("8", (await heardA.ReadAsync(Cancellation)).Message.ToString());
        Assert.False(heardB.TryRead(out _));
        Assert.Equal("3", (await serviceB.GetDatabase().HashGetAsync(LiveConfigChannel.Key, LiveConfigChannel.VersionField)).ToString());
    }
}

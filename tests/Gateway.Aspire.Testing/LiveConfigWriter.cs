using System.Diagnostics;
using Gateway.Aspire.ServiceDefaults.Configuration;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.Testing;

/// <summary>
/// Writes the live configuration the way policy publishes it (<see cref="LiveConfigChannel"/>: the
/// hash, then the announcement), for tests of the services that follow it. Disposing deletes the
/// hash, because test databases are handed out again to later tests.
/// </summary>
public sealed class LiveConfigWriter : IAsyncDisposable
{
    /// <summary>How soon every replica must follow a publish (the product's promise).</summary>
    public static readonly TimeSpan Within = TimeSpan.FromSeconds(1);

    private readonly ConnectionMultiplexer _redis;

    private LiveConfigWriter(ConnectionMultiplexer redis) => _redis = redis;

    /// <summary>Connects to the database of <paramref name="connectionString"/> and clears any live configuration there.</summary>
    public static async Task<LiveConfigWriter> ConnectAsync(string connectionString)
    {
        var writer = new LiveConfigWriter(await ConnectionMultiplexer.ConnectAsync(connectionString));
        await writer._redis.GetDatabase().KeyDeleteAsync(LiveConfigChannel.Key);
        return writer;
    }

    /// <summary>Stores <paramref name="yaml"/> as <paramref name="version"/> and announces it.</summary>
    public async Task PublishAsync(long version, string yaml)
    {
        await StoreAsync(version, yaml);
        await _redis.GetSubscriber().PublishAsync(RedisChannels.For(_redis, LiveConfigChannel.Channel), version);
    }

    /// <summary>Stores <paramref name="yaml"/> as <paramref name="version"/> without announcing it (an announcement a replica missed).</summary>
    public Task StoreAsync(long version, string yaml) => _redis.GetDatabase().HashSetAsync(LiveConfigChannel.Key,
        [new HashEntry(LiveConfigChannel.VersionField, version), new HashEntry(LiveConfigChannel.YamlField, yaml)]);

    /// <summary>
    /// Polls <paramref name="condition"/> every 10 ms until it holds and returns how long that took;
    /// throws <see cref="TimeoutException"/> when it does not hold within <paramref name="within"/> (default <see cref="Within"/>).
    /// </summary>
    public static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var clock = Stopwatch.StartNew();
        var deadline = within ?? Within;
        while (!await condition())
        {
            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"Not within {deadline.TotalMilliseconds:0} ms: {what}.");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        return clock.Elapsed;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _redis.GetDatabase().KeyDeleteAsync(LiveConfigChannel.Key);
        await _redis.DisposeAsync();
    }
}

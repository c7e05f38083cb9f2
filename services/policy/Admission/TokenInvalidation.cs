using Gateway.Aspire.Policy.Tokens;
using Npgsql;
using StackExchange.Redis;
using Gateway.Aspire.ServiceDefaults.Data;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// Makes a change to tokens or identities visible on every policy replica at once: after the
/// change is committed, each affected token's Redis entry is overwritten with what PostgreSQL now
/// says (its new resolution, or the "no such token" marker for a revoked one), and its hash is
/// published on <see cref="ChannelName"/>, where every replica evicts it from its <see cref="TokenCache"/>.
/// </summary>
/// <remarks>
/// Overwriting rather than deleting the Redis entry closes a race: a replica that read PostgreSQL
/// just before the commit would otherwise write the stale record back after the delete. Lookups
/// only fill Redis when the key is absent (<c>SET NX</c>), so this write always wins. Pub/sub is
/// at-most-once; a replica that misses a message (disconnected) still forgets the entry when it
/// ages out of memory after <see cref="TokenCache.Lifetime"/>.
/// </remarks>
public sealed class TokenInvalidation(
    IConnectionMultiplexer redis, TokenCache cache, TokenRepository repository, ILogger<TokenInvalidation> logger) : IHostedService
{
    /// <summary>The pub/sub channel (per database: <see cref="RedisChannels"/>); messages are lowercase hex token hashes.</summary>
    public const string ChannelName = "policy:token-invalidations";

    private readonly RedisChannel _channel = RedisChannels.For(redis, ChannelName);

    /// <summary>Refreshes the shared entries of <paramref name="hashes"/> and tells every replica to forget them.</summary>
    public async Task InvalidateAsync(IEnumerable<byte[]> hashes, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var subscriber = redis.GetSubscriber();
        foreach (var hash in hashes)
        {
            var hashHex = Convert.ToHexStringLower(hash);
            var key = new RedisKey(TokenLookup.RedisKeyPrefix + hashHex);
            try
            {
                try
                {
                    var (payload, ttl) = TokenLookup.RedisEntry(await repository.FindActiveAsync(hash, cancellationToken));
                    await database.StringSetAsync(key, payload, ttl);
                }
                catch (NpgsqlException e)
                {
                    // The change is committed but cannot be read back: deleting is the next best thing.
                    PolicyLog.InvalidationFailed(logger, e.Message);
                    await database.KeyDeleteAsync(key);
                }

                await subscriber.PublishAsync(_channel, hashHex);
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                // The change is committed; replicas converge when their entries expire (memory 1 s, Redis KnownTokenTtl).
                PolicyLog.InvalidationFailed(logger, e.Message);
            }

            cache.Remove(hashHex);
        }
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A handler, not a message queue: the multiplexer keeps it and subscribes again after a reconnect.
            await redis.GetSubscriber().SubscribeAsync(_channel, (_, message) =>
            {
                if (message.HasValue)
                {
                    cache.Remove(message!);
                }
            });
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Redis away at start must not fail the start: entries still leave memory after TokenCache.Lifetime.
            PolicyLog.InvalidationFailed(logger, e.Message);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().UnsubscribeAsync(_channel);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Going away anyway: the server drops the subscription with the connection.
        }
    }
}

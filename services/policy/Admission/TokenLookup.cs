using System.Collections.Concurrent;
using System.Text.Json;
using Gateway.Aspire.Policy.Tokens;
using Grpc.Core;
using Npgsql;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Admission;

/// <summary>
/// Finds the live token for a secret through three tiers: the in-process <see cref="TokenCache"/>
/// (≤ 1 s), Redis (<c>policy:token:&lt;hex hash&gt;</c>, shared by every replica) and PostgreSQL,
/// the source of truth, read only on a miss of both. Unknown tokens are cached too, briefly, so a
/// flood of bad keys does not reach PostgreSQL, and concurrent misses for one hash share a single
/// lookup (a burst of requests with a new or bad key makes one Redis and at most one PostgreSQL read).
/// </summary>
public sealed class TokenLookup(
    TokenCache cache, IConnectionMultiplexer redis, TokenRepository repository, ILogger<TokenLookup> logger)
{
    /// <summary>How long Redis keeps a known token. Revocation deletes the key; expiry is checked on every admission.</summary>
    public static readonly TimeSpan KnownTokenTtl = TimeSpan.FromMinutes(10);

    /// <summary>How long Redis remembers that a hash matches no token.</summary>
    public static readonly TimeSpan UnknownTokenTtl = TimeSpan.FromSeconds(30);

    /// <summary>Redis key prefix of cached token records.</summary>
    public const string RedisKeyPrefix = "policy:token:";

    // A Redis value that cannot be a JSON object: "no such token".
    private const string UnknownMarker = "-";

    private readonly ConcurrentDictionary<string, Task<TokenRecord?>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>
    /// The live token whose hash is <paramref name="hash"/>, or null when there is none (unknown or
    /// revoked). Throws <see cref="RpcException"/> (<see cref="StatusCode.Unavailable"/>) when the
    /// answer is in no cache and PostgreSQL cannot be reached.
    /// </summary>
    public ValueTask<TokenRecord?> FindAsync(byte[] hash, CancellationToken cancellationToken)
    {
        var hashHex = Convert.ToHexStringLower(hash);
        return cache.TryGet(hashHex, out var cached)
            ? ValueTask.FromResult(cached)
            : new ValueTask<TokenRecord?>(JoinLoadAsync(hashHex, hash, cancellationToken));
    }

    /// <summary>
    /// As <see cref="FindAsync(byte[], CancellationToken)"/> for the secret itself: hashed on the stack,
    /// so a hit of the in-process cache allocates nothing.
    /// </summary>
    public ValueTask<TokenRecord?> FindAsync(string token, CancellationToken cancellationToken)
    {
        Span<byte> hash = stackalloc byte[TokenSecret.HashBytes];
        TokenSecret.Hash(token, hash);
        Span<char> hashHex = stackalloc char[TokenSecret.HashBytes * 2];
        Convert.TryToHexStringLower(hash, hashHex, out _);
        return cache.TryGet(hashHex, out var cached)
            ? ValueTask.FromResult(cached)
            : new ValueTask<TokenRecord?>(JoinLoadAsync(hashHex.ToString(), hash.ToArray(), cancellationToken));
    }

    private async Task<TokenRecord?> JoinLoadAsync(string hashHex, byte[] hash, CancellationToken cancellationToken)
    {
        // The shared load is not cancelled by any one caller (each caller stops waiting on its own);
        // Npgsql's command timeout and Redis' sync timeout bound it.
        var load = _inFlight.GetOrAdd(hashHex, static (key, state) => state.Self.LoadAsync(key, state.Hash), (Self: this, Hash: hash));
        try
        {
            return await load.WaitAsync(cancellationToken);
        }
        finally
        {
            // Later callers read the caches the load filled. A caller that gave up early removes it
            // too, which at worst starts one more load: never a stale or leaked entry.
            _inFlight.TryRemove(new KeyValuePair<string, Task<TokenRecord?>>(hashHex, load));
        }
    }

    private async Task<TokenRecord?> LoadAsync(string hashHex, byte[] hash)
    {
        var key = new RedisKey(RedisKeyPrefix + hashHex);
        var redisAvailable = true;
        var overwrite = false;
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(key);
            if (value.HasValue)
            {
                var fromRedis = value == UnknownMarker
                    ? null
                    : JsonSerializer.Deserialize((string)value!, PolicyJsonContext.Default.TokenRecord);
                cache.Set(hashHex, fromRedis);
                return fromRedis;
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or JsonException)
        {
            // Degrade to PostgreSQL rather than refuse every caller while Redis is down; an
            // unreadable entry (an older format) is simply overwritten below.
            redisAvailable = e is JsonException;
            overwrite = redisAvailable;
            PolicyLog.RedisUnavailable(logger, e.Message);
        }

        TokenRecord? record;
        try
        {
            record = await repository.FindActiveAsync(hash, CancellationToken.None);
        }
        catch (NpgsqlException e) when (e is not PostgresException || e.IsTransient)
        {
            PolicyLog.PostgresUnavailable(logger, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The token store is unavailable; retry shortly."));
        }

        cache.Set(hashHex, record);
        if (redisAvailable)
        {
            // Fire and forget: the answer is already known; populating Redis must not add latency.
            // Only when the key is still absent: a revocation committed after our read has already
            // written the newer answer (TokenInvalidation), which must not be overwritten.
            var (payload, ttl) = RedisEntry(record);
            _ = redis.GetDatabase().StringSetAsync(key, payload, ttl, overwrite ? When.Always : When.NotExists, CommandFlags.FireAndForget);
        }

        return record;
    }

    /// <summary>The Redis value and lifetime that say <paramref name="record"/> (null: no such token).</summary>
    internal static (RedisValue Payload, TimeSpan Ttl) RedisEntry(TokenRecord? record) => record is null
        ? (UnknownMarker, UnknownTokenTtl)
        : (JsonSerializer.Serialize(record, PolicyJsonContext.Default.TokenRecord), KnownTokenTtl);
}

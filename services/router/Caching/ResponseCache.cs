using Gateway.Aspire.Router.Forwarding;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Caching;

/// <summary>
/// The exact-match response cache: answers kept in Redis with a TTL, shared by every router
/// replica, behind a small in-process LRU. Namespaced per tenant (the key hashes the tenant, so
/// one tenant never receives another's answer).
/// </summary>
/// <remarks>
/// Use from the forwarder: <see cref="Prepare"/> once the request is admitted and its final body
/// known; <see cref="TryGetAsync"/> before going upstream (replay a hit with
/// <see cref="CachedResponseWriter"/>); otherwise <see cref="BeginCapture"/>, feed the capture
/// while relaying, and <see cref="StoreAsync"/> after a complete successful answer.
/// The cache never fails a request: Redis unreachable, slow (past
/// <see cref="ResponseCacheOptions.RedisTimeout"/>) or holding a damaged value is a miss, and a
/// failed write is dropped; the outage is logged once, and its end once.
/// </remarks>
internal sealed class ResponseCache(
    IOptions<ResponseCacheOptions> options, TimeProvider time, ILogger<ResponseCache> logger, IConnectionMultiplexer? redis, ResponseCacheMetrics? metrics = null)
{
    private readonly ResponseCacheOptions _options = options.Value;
    private readonly ResponseLru _memory = new(options.Value.MemoryEntries, options.Value.MemoryBytes, time);
    private int _redisFailing;

    /// <summary>The cache lookup of a request, or null when caching does not apply to it.</summary>
    /// <param name="plan">From <see cref="CacheRequestHeaders.Resolve"/>.</param>
    /// <param name="tenant">The namespace answers are shared within: the caller's team, else its virtual account.</param>
    /// <param name="api">The client API.</param>
    /// <param name="info">The inspected request (model, stream, include_usage).</param>
    /// <param name="body">The body as it goes upstream (after guardrails).</param>
    /// <param name="variant">Request headers outside the body that change the answer (<c>anthropic-beta</c>), or null.</param>
    public CacheLookup? Prepare(CachePlan plan, string tenant, InboundApi api, in ChatRequestInfo info, ReadOnlySpan<byte> body, string? variant = null)
    {
        if (!plan.Applies || api.Multipart)
        {
            return null;
        }

        var key = CacheKey.Compute(tenant, api.Path, info.Model, body, ResponseForms.Of(info.Stream, info.IncludeUsage), variant);
        return key is { } k ? new CacheLookup(k, plan) : null;
    }

    /// <summary>The cached answer, or null on a miss (including a lookup the plan does not read, and any Redis trouble).</summary>
    public async ValueTask<CachedResponse?> TryGetAsync(CacheLookup lookup, CancellationToken cancellationToken)
    {
        if (!lookup.Plan.Read)
        {
            return null;
        }

        var key = lookup.Key.Value;
        if (_memory.TryGet(key, out var remembered))
        {
            metrics?.Lookup("memory");
            return remembered;
        }

        if (!RedisReady(out var database))
        {
            metrics?.Lookup(null);
            return null;
        }

        RedisValue value;
        try
        {
            value = await database.StringGetAsync(_options.KeyPrefix + key).WaitAsync(_options.RedisTimeout, time, cancellationToken);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            RedisFailed(e);
            metrics?.Lookup(null);
            return null;
        }

        RedisWorked();
        if (value.IsNullOrEmpty || CacheEnvelope.Decode((ReadOnlyMemory<byte>)value) is not { } response
            || response.Form != lookup.Key.Form || response.ExpiresAt <= time.GetUtcNow())
        {
            metrics?.Lookup(null);
            return null;
        }

        _memory.Set(key, response);
        metrics?.Lookup("redis");
        return response;
    }

    /// <summary>A capture for the answer to <paramref name="lookup"/>, or null when the plan does not write.</summary>
    public ResponseCapture? BeginCapture(CacheLookup lookup) =>
        lookup.Plan.Write ? new ResponseCapture(lookup, _options.MaxEntryBytes) : null;

    /// <summary>
    /// Stores a complete, successful answer; call it only after the whole answer reached the
    /// client. Returns false when nothing was stored: not a 2xx, empty, past the size bound, a
    /// stream without its terminating event (<see cref="EventStreamEnd"/>), or (for Redis)
    /// unreachable — the in-process LRU still keeps it then.
    /// </summary>
    /// <remarks>
    /// The in-process entry is in place before this method first awaits: start it before the
    /// response's last bytes go out and await it after, so a client that sends the same request
    /// the moment it has the answer already hits on this replica.
    /// </remarks>
    /// <param name="capture">What the client was sent.</param>
    /// <param name="statusCode">The status the client got.</param>
    /// <param name="contentType">The answer's <c>Content-Type</c>.</param>
    /// <param name="usage">The tokens the call used (reported again on every hit, at zero cost).</param>
    /// <param name="servedModel"><c>&lt;account&gt;/&lt;model&gt;</c> that answered.</param>
    /// <param name="provider">Its provider kind.</param>
    public async ValueTask<bool> StoreAsync(ResponseCapture capture, int statusCode, string contentType, TokenUsage usage, string servedModel, string provider)
    {
        var lookup = capture.Lookup;
        if (statusCode is < 200 or >= 300 || capture.Overflowed || capture.Bytes.IsEmpty
            || (lookup.Key.Form.IsEventStream() && !EventStreamEnd.LooksComplete(capture.Bytes)))
        {
            metrics?.Store("skipped");
            return false;
        }

        var now = time.GetUtcNow();
        var envelope = CacheEnvelope.Encode(new CachedResponse
        {
            StatusCode = statusCode,
            ContentType = contentType,
            Form = lookup.Key.Form,
            Body = capture.Bytes.ToArray(),
            Usage = usage,
            ServedModel = servedModel,
            Provider = provider,
            StoredAt = now,
            ExpiresAt = now + lookup.Plan.Ttl,
        });

        // The LRU keeps the decoded envelope: its body is a slice of the one array Redis was sent.
        _memory.Set(lookup.Key.Value, CacheEnvelope.Decode(envelope)!);
        if (!RedisReady(out var database))
        {
            metrics?.Store("memory_only");
            return false;
        }

        try
        {
            await database.StringSetAsync(_options.KeyPrefix + lookup.Key.Value, envelope, lookup.Plan.Ttl).WaitAsync(_options.RedisTimeout, time);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            RedisFailed(e);
            metrics?.Store("memory_only");
            return false;
        }

        RedisWorked();
        metrics?.Store("stored");
        return true;
    }

    private bool RedisReady(out IDatabase database)
    {
        // A disconnected multiplexer would queue the command until its own timeout (seconds):
        // checking first makes a Redis outage cost nothing but the miss.
        if (redis is { IsConnected: true })
        {
            database = redis.GetDatabase();
            return true;
        }

        database = null!;
        if (redis is not null)
        {
            RedisFailed(null);
        }

        return false;
    }

    private void RedisFailed(Exception? exception)
    {
        if (Interlocked.Exchange(ref _redisFailing, 1) == 0)
        {
            RouterLog.ResponseCacheRedisUnavailable(logger, exception);
        }
    }

    private void RedisWorked()
    {
        if (Volatile.Read(ref _redisFailing) == 1 && Interlocked.Exchange(ref _redisFailing, 0) == 1)
        {
            RouterLog.ResponseCacheRedisRecovered(logger);
        }
    }
}

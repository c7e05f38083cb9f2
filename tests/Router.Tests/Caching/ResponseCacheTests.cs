using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Aspire.Router.Caching;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Router.Tests.Caching;

/// <summary>The response cache against a real Redis, with a fake clock for the in-process LRU and the entries' expiry.</summary>
public sealed class ResponseCacheTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string Model = "mock/gpt-4o-mini";
    private const string Question = """{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"temperature":0}""";
    private const string Answer = """{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}]}""";

    private const string Chunk1 = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n";
    private const string Chunk2 = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n";
    private const string UsageChunk = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n";
    private const string Done = "data: [DONE]\n\n";

    private static readonly CachePlan s_readWrite = new(Read: true, Write: true, TimeSpan.FromSeconds(600));
    private static readonly TokenUsage s_usage = new(9, 2, 0);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeTimeProvider _time = new(CacheEntries.Now);
    private readonly string _prefix = $"test:{Guid.NewGuid():N}:";
    private readonly CollectingLogger _log = new();
    private readonly List<ConnectionMultiplexer> _connections = [];
    private IDatabase _database = null!;

    public async ValueTask InitializeAsync() => _database = (await ConnectAsync(redis.ConnectionString)).GetDatabase();

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(string connectionString)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(connectionString);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>A router replica's cache: its own LRU and Redis connection, the shared Redis.</summary>
    private async Task<ResponseCache> ReplicaAsync(int maxEntryBytes = 1 << 20) =>
        new(Options.Create(new ResponseCacheOptions { KeyPrefix = _prefix, MaxEntryBytes = maxEntryBytes }), _time, _log,
            await ConnectAsync(redis.ConnectionString));

    private static CacheLookup Lookup(ResponseCache cache, string tenant = "team:a", string body = Question, bool stream = false, bool? includeUsage = null, CachePlan? plan = null) =>
        cache.Prepare(plan ?? s_readWrite, tenant, InboundApi.ChatCompletions, new ChatRequestInfo { Model = Model, Stream = stream, IncludeUsage = includeUsage }, Encoding.UTF8.GetBytes(body))
            ?? throw new InvalidOperationException("caching did not apply");

    private static async Task<bool> StoreAsync(ResponseCache cache, CacheLookup lookup, string answer, int status = 200, string contentType = "application/json")
    {
        using var capture = cache.BeginCapture(lookup)!;
        capture.Append(Encoding.UTF8.GetBytes(answer));
        return await cache.StoreAsync(capture, status, contentType, s_usage, "mock/gpt-4o-mini", "openai-compatible");
    }

    [Fact]
    public async Task StoredAnswer_IsAHit_ForTheSameQuestion_OnAnotherReplica()
    {
        var first = await ReplicaAsync();
        Assert.Null(await first.TryGetAsync(Lookup(first), Ct));
        Assert.True(await StoreAsync(first, Lookup(first), Answer));

        var second = await ReplicaAsync();
        var hit = await second.TryGetAsync(Lookup(second, body: Question.Replace("\"temperature\":0", "\"temperature\":0.0,\"user\":\"other\"", StringComparison.Ordinal)), Ct);

        Assert.NotNull(hit);
        Assert.Equal(Answer, Encoding.UTF8.GetString(hit.Body.Span));
        Assert.Equal((200, "application/json", ResponseForm.Json, s_usage, "mock/gpt-4o-mini", "openai-compatible"),
            (hit.StatusCode, hit.ContentType, hit.Form, hit.Usage, hit.ServedModel, hit.Provider));
        Assert.Equal(CacheEntries.Now + TimeSpan.FromSeconds(600), hit.ExpiresAt);
    }

    [Fact]
    public async Task RedisKey_CarriesThePlansTtl()
    {
        var cache = await ReplicaAsync();
        var lookup = Lookup(cache, plan: s_readWrite with { Ttl = TimeSpan.FromSeconds(42) });

        await StoreAsync(cache, lookup, Answer);

        var ttl = await _database.KeyTimeToLiveAsync(_prefix + lookup.Key.Value);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(42));
        Assert.Matches($"^{_prefix}[0-9a-f]{{16}}:[0-9a-f]{{64}}:j$", _prefix + lookup.Key.Value);
    }

    [Fact]
    public async Task OneTenant_NeverReceivesAnothersAnswer()
    {
        var cache = await ReplicaAsync();
        await StoreAsync(cache, Lookup(cache, tenant: "team:a"), Answer);

        Assert.Null(await cache.TryGetAsync(Lookup(cache, tenant: "team:b"), Ct));
        Assert.Null(await (await ReplicaAsync()).TryGetAsync(Lookup(cache, tenant: "virtualaccount:a"), Ct));
        Assert.NotNull(await cache.TryGetAsync(Lookup(cache, tenant: "team:a"), Ct));
    }

    [Fact]
    public async Task Entry_ExpiresOnTheClock_InMemoryAndFromRedis()
    {
        var writer = await ReplicaAsync();
        await StoreAsync(writer, Lookup(writer, plan: s_readWrite with { Ttl = TimeSpan.FromSeconds(60) }), Answer);
        var reader = await ReplicaAsync();

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.NotNull(await writer.TryGetAsync(Lookup(writer), Ct)); // memory
        Assert.NotNull(await reader.TryGetAsync(Lookup(reader), Ct)); // Redis, then its memory

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await writer.TryGetAsync(Lookup(writer), Ct));
        Assert.Null(await reader.TryGetAsync(Lookup(reader), Ct));
        Assert.Null(await (await ReplicaAsync()).TryGetAsync(Lookup(reader), Ct)); // Redis may lag by clock skew; the entry's own expiry does not
    }

    [Fact]
    public async Task MemoryFrontsRedis_AHitNeedsNoRoundTrip()
    {
        var cache = await ReplicaAsync();
        var lookup = Lookup(cache);
        await StoreAsync(cache, lookup, Answer);

        await _database.KeyDeleteAsync(_prefix + lookup.Key.Value);

        Assert.NotNull(await cache.TryGetAsync(lookup, Ct));
        Assert.Null(await (await ReplicaAsync()).TryGetAsync(lookup, Ct));
    }

    [Fact]
    public async Task NoCache_SkipsTheLookup_ButReplacesTheEntry()
    {
        var cache = await ReplicaAsync();
        await StoreAsync(cache, Lookup(cache), Answer);
        var noCache = Lookup(cache, plan: s_readWrite with { Read = false });

        Assert.Null(await cache.TryGetAsync(noCache, Ct));
        Assert.True(await StoreAsync(cache, noCache, "{\"fresh\":true}"));

        var hit = await (await ReplicaAsync()).TryGetAsync(Lookup(cache), Ct);
        Assert.Equal("{\"fresh\":true}", Encoding.UTF8.GetString(hit!.Body.Span));
    }

    [Fact]
    public async Task NoStore_IsNoLookupAtAll_AndAReadOnlyPlanCapturesNothing()
    {
        var cache = await ReplicaAsync();

        Assert.Null(cache.Prepare(CachePlan.Off, "team:a", InboundApi.ChatCompletions, new ChatRequestInfo { Model = Model }, Encoding.UTF8.GetBytes(Question)));
        Assert.Null(cache.BeginCapture(Lookup(cache, plan: s_readWrite with { Write = false })));
        Assert.Null(cache.Prepare(s_readWrite, "team:a", InboundApi.ChatCompletions, new ChatRequestInfo { Model = Model }, "not json"u8));
        Assert.Null(cache.Prepare(s_readWrite, "team:a", InboundApi.AudioTranscriptions, new ChatRequestInfo { Model = Model }, Encoding.UTF8.GetBytes(Question)));
    }

    [Fact]
    public async Task FailedOrEmptyAnswers_AreNotStored()
    {
        var cache = await ReplicaAsync();
        var lookup = Lookup(cache);

        Assert.False(await StoreAsync(cache, lookup, "{\"error\":{}}", status: 500));
        Assert.False(await StoreAsync(cache, lookup, ""));
        Assert.Null(await cache.TryGetAsync(lookup, Ct));
        Assert.False(await _database.KeyExistsAsync(_prefix + lookup.Key.Value));
    }

    [Fact]
    public async Task AnswerLargerThanTheMaximum_IsRelayedButNotCached()
    {
        var cache = await ReplicaAsync(maxEntryBytes: 100);
        var lookup = Lookup(cache);
        using var capture = cache.BeginCapture(lookup)!;
        capture.Append(new byte[60]);
        Assert.False(capture.Overflowed);

        capture.Append(new byte[41]);

        Assert.True(capture.Overflowed);
        Assert.True(capture.Bytes.IsEmpty);
        Assert.False(await cache.StoreAsync(capture, 200, "application/json", s_usage, Model, "openai-compatible"));
        Assert.Null(await cache.TryGetAsync(lookup, Ct));
        Assert.False(await _database.KeyExistsAsync(_prefix + lookup.Key.Value));
    }

    [Fact]
    public async Task StreamAndJson_AreSeparateForms_OfOneQuestion()
    {
        var cache = await ReplicaAsync();
        await StoreAsync(cache, Lookup(cache), Answer);

        Assert.Null(await cache.TryGetAsync(Lookup(cache, stream: true), Ct));
        Assert.Null(await cache.TryGetAsync(Lookup(cache, stream: true, includeUsage: true), Ct));
        Assert.NotNull(await cache.TryGetAsync(Lookup(cache, stream: false, includeUsage: true), Ct));
    }

    [Fact]
    public async Task CapturedStream_IsReplayedByteForByte_EventByEvent()
    {
        // The live relay: upstream bytes in 7-byte reads, the injected usage chunk dropped, the
        // client's bytes written through the capture's tee.
        var cache = await ReplicaAsync();
        var lookup = Lookup(cache, stream: true);
        using var capture = cache.BeginCapture(lookup)!;
        var client = new MemoryStream();
        var tee = capture.Tee(PipeWriter.Create(client));
        using (var relay = new SseUsageRelay(dropUsageOnlyChunk: true))
        {
            var upstream = Encoding.UTF8.GetBytes(Chunk1 + Chunk2 + UsageChunk + Done);
            for (var at = 0; at < upstream.Length; at += 7)
            {
                relay.Process(upstream.AsSpan(at, Math.Min(7, upstream.Length - at)), tee);
            }

            relay.Complete(tee);
            Assert.Equal(s_usage, relay.Usage);
        }

        await tee.FlushAsync(Ct);

        Assert.Equal(Chunk1 + Chunk2 + Done, Encoding.UTF8.GetString(client.ToArray()));
        Assert.Equal(client.ToArray(), capture.Bytes.ToArray());
        Assert.True(await cache.StoreAsync(capture, 200, "text/event-stream", s_usage, Model, "openai-compatible"));

        var hit = await (await ReplicaAsync()).TryGetAsync(Lookup(cache, stream: true), Ct);
        Assert.NotNull(hit);
        Assert.True(hit.IsEventStream);
        var (context, body) = RecordingContext();

        await CachedResponseWriter.WriteAsync(context, hit, Ct);

        Assert.Equal(client.ToArray(), body.ToArray());
        Assert.Equal([Chunk1, Chunk2, Done], body.Flushed);
        Assert.Equal("HIT", context.Response.Headers["x-gateway-cache"]);
        Assert.Equal("text/event-stream", context.Response.ContentType);
        Assert.Equal("no-cache", context.Response.Headers.CacheControl);
        Assert.Null(context.Response.ContentLength);
    }

    [Fact]
    public async Task JsonHit_IsWrittenWhole_NamingTheModelThatAnswered()
    {
        var (context, body) = RecordingContext();

        await CachedResponseWriter.WriteAsync(context, CacheEntries.Json(Answer), Ct);

        Assert.Equal(Answer, Encoding.UTF8.GetString(body.ToArray()));
        Assert.Equal(Answer.Length, context.Response.ContentLength);
        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(("HIT", "claude/sonnet", "anthropic"),
            (context.Response.Headers["x-gateway-cache"].ToString(), context.Response.Headers["x-gateway-model"].ToString(), context.Response.Headers["x-gateway-provider"].ToString()));
    }

    [Fact]
    public async Task RedisDown_IsAMiss_NeverAFailure_LoggedOnce()
    {
        var down = await ConnectAsync($"127.0.0.1:{ClosedPort()},abortConnect=false,connectTimeout=200");
        var cache = new ResponseCache(Options.Create(new ResponseCacheOptions { KeyPrefix = _prefix }), _time, _log, down);
        var lookup = Lookup(cache);

        Assert.Null(await cache.TryGetAsync(lookup, Ct));
        Assert.False(await StoreAsync(cache, lookup, Answer));
        Assert.Null(await cache.TryGetAsync(Lookup(cache, tenant: "team:b"), Ct));

        // The replica still remembers what it answered itself.
        Assert.NotNull(await cache.TryGetAsync(lookup, Ct));
        Assert.Equal(["ResponseCacheRedisUnavailable"], _log.Events);
    }

    [Fact]
    public async Task StreamWithoutItsTerminator_IsNotStored()
    {
        var cache = await ReplicaAsync();
        var lookup = Lookup(cache, stream: true);

        Assert.False(await StoreAsync(cache, lookup, Chunk1 + Chunk2, contentType: "text/event-stream"));
        Assert.Null(await cache.TryGetAsync(lookup, Ct));
        Assert.True(await StoreAsync(cache, lookup, Chunk1 + Chunk2 + Done, contentType: "text/event-stream"));
    }

    [Fact]
    public async Task LookupsAndStores_AreCounted()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var counted = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meterFactory)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            counted.Add($"{instrument.Name} {string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"))}"));
        listener.Start();
        var options = Options.Create(new ResponseCacheOptions { KeyPrefix = _prefix });
        var writer = new ResponseCache(options, _time, _log, await ConnectAsync(redis.ConnectionString), new ResponseCacheMetrics(meterFactory));
        var reader = new ResponseCache(options, _time, _log, await ConnectAsync(redis.ConnectionString), new ResponseCacheMetrics(meterFactory));

        await writer.TryGetAsync(Lookup(writer), Ct);
        await StoreAsync(writer, Lookup(writer), Answer);
        await StoreAsync(writer, Lookup(writer), "", status: 500);
        await writer.TryGetAsync(Lookup(writer), Ct);
        await reader.TryGetAsync(Lookup(reader), Ct);

        Assert.Equal(
        [
            "gateway.cache.lookups result=miss",
            "gateway.cache.stores outcome=stored",
            "gateway.cache.stores outcome=skipped",
            "gateway.cache.lookups result=hit,source=memory",
            "gateway.cache.lookups result=hit,source=redis",
        ], counted);
    }

    [Fact]
    public async Task DamagedValueInRedis_IsAMiss()
    {
        var cache = await ReplicaAsync();
        var lookup = Lookup(cache);
        await _database.StringSetAsync(_prefix + lookup.Key.Value, "garbage");

        Assert.Null(await cache.TryGetAsync(lookup, Ct));
    }

    [Fact]
    public void HitRecord_ReportsTheTokens_AtNoPrice_AsACacheHit()
    {
        var hit = CacheEntries.Json() with { Form = ResponseForm.EventStream };

        var record = CacheHitRecord.Create(hit, "req-1", CacheEntries.Now, "tok-1", "ci", "mock/smart", latencyMs: 1.5, timeToFirstTokenMs: 0.5);

        Assert.True(record.CacheHit);
        Assert.Null(record.Price);
        Assert.Equal((12, 5, 2, 1, 3, true), (record.PromptTokens, record.CompletionTokens, record.CachedTokens, record.CacheWriteTokens, record.ReasoningTokens, record.UsageEstimated));
        Assert.Equal(("claude/sonnet", "anthropic", "mock/smart", 200, true), (record.ServedModel, record.Provider, record.RequestedModel, record.StatusCode, record.Streamed));
        Assert.Equal(("req-1", "tok-1", "ci", 1.5, 0.5), (record.RequestId, record.TokenId, record.TokenName, record.LatencyMs, record.TimeToFirstTokenMs));
    }

    private static (DefaultHttpContext Context, RecordingStream Body) RecordingContext()
    {
        var body = new RecordingStream();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        return (context, body);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A response body that records what each flush delivered.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        private long _flushedUpTo;

        public List<string> Flushed { get; } = [];

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            if (Length > _flushedUpTo)
            {
                Flushed.Add(Encoding.UTF8.GetString(GetBuffer(), (int)_flushedUpTo, (int)(Length - _flushedUpTo)));
                _flushedUpTo = Length;
            }

            return Task.CompletedTask;
        }
    }

    private sealed class CollectingLogger : ILogger<ResponseCache>
    {
        public List<string> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Events)
            {
                Events.Add(eventId.Name ?? "");
            }
        }
    }
}

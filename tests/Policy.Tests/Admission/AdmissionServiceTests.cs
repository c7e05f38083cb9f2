using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Admission;

/// <summary>Admission.Admit over real gRPC against real PostgreSQL and Redis, with a controlled clock.</summary>
public sealed class AdmissionServiceTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private string _database = "";
    private string _redis = "";
    private PolicyTestHost? _host;
    private ConnectionMultiplexer? _redisClient;

    private PolicyTestHost Host => _host!;

    private IDatabase Redis => _redisClient!.GetDatabase();

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync("policy");
        _redis = redis.NextDatabase();
        _host = await PolicyTestHost.StartAsync(_redis, _database, time: _time);
        _redisClient = await ConnectionMultiplexer.ConnectAsync(_redis);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_redisClient is not null)
        {
            await _redisClient.DisposeAsync();
        }
    }

    [Fact]
    public async Task Admit_ValidToken_IsAllowedWithIdentityAndModels()
    {
        var created = await Host.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);

        var reply = await Host.AdmitAsync(created.Token, "mock/gpt-4o-mini");

        Assert.Equal(AdmitDecision.Allowed, reply.Decision);
        Assert.Equal(created.Id, reply.Identity.TokenId);
        Assert.Equal("ci", reply.Identity.TokenName);
        Assert.Equal("", reply.Message);
        // The list goes to callers that name no model (GET /v1/models); an admitted model was checked against it.
        Assert.Empty(reply.AllowedModels);
        Assert.Equal(["mock/gpt-4o-mini"], (await Host.AdmitAsync(created.Token)).AllowedModels);
    }

    [Fact]
    public async Task Admit_UnrestrictedToken_AllowsAnyModel()
    {
        var created = await Host.CreateTokenAsync("all");

        var reply = await Host.AdmitAsync(created.Token, "other/model");

        Assert.Equal(AdmitDecision.Allowed, reply.Decision);
        Assert.Empty(reply.AllowedModels);
    }

    [Fact]
    public async Task Admit_ModelOutsideTheTokensList_IsModelNotAllowed()
    {
        var created = await Host.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);

        var reply = await Host.AdmitAsync(created.Token, "mock/gpt-4o");

        Assert.Equal(AdmitDecision.ModelNotAllowed, reply.Decision);
        Assert.Equal(created.Id, reply.Identity.TokenId);
        Assert.Contains("mock/gpt-4o", reply.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Token, reply.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admit_WithoutModel_OnlyAuthenticates()
    {
        var created = await Host.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);

        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(created.Token)).Decision);
    }

    [Fact]
    public async Task Admit_UnknownToken_IsInvalidToken_AndTheMissIsCachedInRedis()
    {
        var unknown = TokenSecret.Generate();

        var reply = await Host.AdmitAsync(unknown, "mock/gpt-4o-mini");

        Assert.Equal(AdmitDecision.InvalidToken, reply.Decision);
        Assert.Equal("Incorrect API key provided.", reply.Message);
        Assert.Null(reply.Identity);
        var key = TokenLookup.RedisKeyPrefix + Convert.ToHexStringLower(TokenSecret.Hash(unknown));
        await WaitForRedisKeyAsync(key);
        var ttl = await Redis.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.True(ttl <= TokenLookup.UnknownTokenTtl);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("Bearer gw-vat-xyz")]
    public async Task Admit_MalformedToken_IsInvalidToken_WithoutAnyLookup(string token)
    {
        var keysBefore = await Redis.ExecuteAsync("DBSIZE");

        var reply = await Host.AdmitAsync(token, "mock/gpt-4o-mini");

        Assert.Equal(AdmitDecision.InvalidToken, reply.Decision);
        Assert.Equal("Incorrect API key provided.", reply.Message);
        Assert.Equal((long)keysBefore, (long)await Redis.ExecuteAsync("DBSIZE"));
    }

    [Fact]
    public async Task Admit_ExpiredToken_IsInvalidToken()
    {
        var created = await Host.CreateTokenAsync("short", expiresAt: _time.GetUtcNow().AddHours(1));
        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(created.Token)).Decision);

        _time.Advance(TimeSpan.FromHours(1));
        var reply = await Host.AdmitAsync(created.Token);

        Assert.Equal(AdmitDecision.InvalidToken, reply.Decision);
        Assert.Equal(AdmissionService.ExpiredTokenMessage, reply.Message);
    }

    [Fact]
    public async Task Admit_InSteadyState_IsServedFromRedisWithoutPostgres()
    {
        var created = await Host.CreateTokenAsync("ci");
        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(created.Token)).Decision);
        var key = TokenLookup.RedisKeyPrefix + Convert.ToHexStringLower(TokenSecret.Hash(created.Token));
        await WaitForRedisKeyAsync(key);

        // Gone from PostgreSQL, and the in-process entry has aged out: only Redis can answer.
        await PostgresServerFixture.ScalarAsync<long>(_database, $"DELETE FROM policy.tokens WHERE id = '{created.Id}'");
        _time.Advance(TokenCache.Lifetime);

        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(created.Token)).Decision);
    }

    [Fact]
    public async Task Admit_RevokedToken_IsInvalidTokenWithinASecondOfTheRedisEntryGoing()
    {
        var created = await Host.CreateTokenAsync("ci");
        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(created.Token)).Decision);
        var key = TokenLookup.RedisKeyPrefix + Convert.ToHexStringLower(TokenSecret.Hash(created.Token));
        await WaitForRedisKeyAsync(key);

        // What a revoke does: mark the row, delete the shared cache entry.
        await PostgresServerFixture.ScalarAsync<long>(_database, $"UPDATE policy.tokens SET revoked_at = now() WHERE id = '{created.Id}'");
        await Redis.KeyDeleteAsync(key);
        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(created.Token)).Decision); // still in this replica's memory

        _time.Advance(TokenCache.Lifetime);

        Assert.Equal(AdmitDecision.InvalidToken, (await Host.AdmitAsync(created.Token)).Decision);
    }

    [Fact]
    public async Task Admit_ConcurrentFirstCalls_AllGetTheSameAnswer()
    {
        var created = await Host.CreateTokenAsync("burst", ["mock/gpt-4o-mini"]);
        var unknown = TokenSecret.Generate();

        var valid = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Host.AdmitAsync(created.Token, "mock/gpt-4o-mini")));
        var invalid = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Host.AdmitAsync(unknown, "mock/gpt-4o-mini")));

        Assert.All(valid, reply => Assert.Equal(created.Id, reply.Identity.TokenId));
        Assert.All(invalid, reply => Assert.Equal(AdmitDecision.InvalidToken, reply.Decision));
    }

    // Redis is populated fire-and-forget after the reply; give it a moment (milliseconds in practice).
    private async Task WaitForRedisKeyAsync(string key)
    {
        for (var i = 0; i < 100 && !await Redis.KeyExistsAsync(key); i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(await Redis.KeyExistsAsync(key), $"{key} was not cached in Redis");
    }
}

using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.RateLimiting;

/// <summary>Rate limits through Admission.Admit over real gRPC: two policy replicas sharing Redis and PostgreSQL.</summary>
public sealed class RateLimitedAdmissionTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 12, 0, 0, TimeSpan.Zero));
    private PolicyReplicas? _replicas;

    private PolicyTestHost First => _replicas!.First;

    private PolicyTestHost Second => _replicas!.Second;

    public async ValueTask InitializeAsync() => _replicas = await PolicyReplicas.StartAsync(postgres, redis, _time, "policy-rl", """
                type: gateway-rate-limiting-config
                name: limits
                rules:
                  - id: fifty-per-minute
                    when: { subjects: ["virtualaccount:burst"] }
                    limit_to: 50
                    unit: requests_per_minute
                  - id: tokens
                    when: { subjects: ["virtualaccount:tokens"] }
                    limit_to: 1000
                    unit: tokens_per_minute
                """);

    public ValueTask DisposeAsync() => _replicas?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task TwoHundredConcurrentAdmits_OverTwoReplicas_AdmitExactlyFifty()
    {
        var token = (await First.CreateTokenAsync("burst")).Token;
        var hosts = new[] { First, Second };

        var replies = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => hosts[i % 2].AdmitAsync(token, "mock/gpt-4o-mini")));

        Assert.Equal(50, replies.Count(r => r.Decision == AdmitDecision.Allowed));
        var limited = replies.Where(r => r.Decision == AdmitDecision.RateLimited).ToArray();
        Assert.Equal(150, limited.Length);
        Assert.All(limited, r =>
        {
            Assert.Equal("fifty-per-minute", r.RateLimitRule);
            Assert.Contains("fifty-per-minute", r.Message, StringComparison.Ordinal);
            Assert.InRange(r.RetryAfterMs, 60_000, 61_000);
            var status = Assert.Single(r.RateLimits);
            Assert.Equal(("requests", 50L, 0L), (status.Kind, status.Limit, status.Remaining));
        });

        // A minute (and one bucket) later the window has rolled over.
        _time.Advance(TimeSpan.FromSeconds(61));
        var after = await Second.AdmitAsync(token, "mock/gpt-4o-mini");
        Assert.Equal(AdmitDecision.Allowed, after.Decision);
        Assert.Equal(49, after.RateLimits[0].Remaining);
    }

    [Fact]
    public async Task ListingModels_IsNotCounted_AndOtherTokensAreNotLimited()
    {
        var token = (await First.CreateTokenAsync("burst")).Token;
        var free = (await First.CreateTokenAsync("free")).Token;

        for (var i = 0; i < 60; i++)
        {
            Assert.Equal(AdmitDecision.Allowed, (await First.AdmitAsync(token)).Decision);
        }

        var reply = await First.AdmitAsync(free, "mock/gpt-4o-mini");
        Assert.Equal(AdmitDecision.Allowed, reply.Decision);
        Assert.Equal("", reply.RateLimitRule);
        Assert.Empty(reply.RateLimits);
        Assert.Equal(49, (await Second.AdmitAsync(token, "mock/gpt-4o-mini")).RateLimits[0].Remaining);
    }

    [Fact]
    public async Task TokenReservation_IsSettledThroughTheSettleRpc_OnAnotherReplica()
    {
        var token = (await First.CreateTokenAsync("tokens")).Token;
        var request = new AdmitRequest { Token = token, Model = "mock/gpt-4o-mini", RequestId = "r1", EstimatedPromptTokens = 200, MaxTokens = 600 };

        var first = await First.Admission.AdmitAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(AdmitDecision.Allowed, first.Decision);
        Assert.Equal(200, first.RateLimits[0].Remaining);
        Assert.NotEmpty(first.Reservation);
        Assert.Equal(AdmitDecision.RateLimited,
            (await Second.Admission.AdmitAsync(request, cancellationToken: TestContext.Current.CancellationToken)).Decision);

        var settled = await Second.Admission.SettleAsync(
            new SettleRequest { Reservation = first.Reservation, ActualTokens = 100, RequestId = "r1" },
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(settled.Settled);
        var again = await Second.Admission.AdmitAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(AdmitDecision.Allowed, again.Decision);
        Assert.Equal(1000 - 100 - 800, again.RateLimits[0].Remaining);
    }

    [Fact]
    public async Task TokenReservation_CountsEveryCompletionOfN()
    {
        var token = (await First.CreateTokenAsync("tokens")).Token;
        var request = new AdmitRequest { Token = token, Model = "mock/gpt-4o-mini", RequestId = "rn", EstimatedPromptTokens = 100, MaxTokens = 200, Choices = 3 };

        var reply = await First.Admission.AdmitAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(AdmitDecision.Allowed, reply.Decision);
        Assert.Equal(1000 - (100 + 3 * 200), reply.RateLimits[0].Remaining);
    }

    [Fact]
    public async Task InvalidConfig_FailsTheStart_NamingFileDocumentAndField()
    {
        var bad = Path.Combine(_replicas!.Directory, "bad.yaml");
        await File.WriteAllTextAsync(bad, """
            type: gateway-rate-limiting-config
            rules:
              - id: r1
                limit_to: 5
                unit: requests_per_minute
                per: [user]
            """, TestContext.Current.CancellationToken);

        var e = await Assert.ThrowsAnyAsync<Exception>(() => PolicyTestHost.StartAsync(redis.NextDatabase(), "Host=127.0.0.1", gatewayConfig: bad));

        Assert.Contains("bad.yaml, document 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field 'per'", e.Message, StringComparison.Ordinal);
    }
}

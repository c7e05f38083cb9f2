using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.RateLimiting;

/// <summary>The sliding-window script against real Redis, with a fake clock driving the windows.</summary>
public sealed class RateLimiterTests(RedisServerFixture redis) : IAsyncLifetime
{
    private const string Model = "mock/gpt-4o-mini";

    // A round minute, so bucket boundaries are easy to reason about.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 12, 0, 0, TimeSpan.Zero));
    private RedisConnections? _redis;

    public async ValueTask InitializeAsync() => _redis = await RedisConnections.StartAsync(redis);

    public ValueTask DisposeAsync() => _redis?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task ConcurrentAdmits_ThroughTwoReplicas_AdmitExactlyTheLimit()
    {
        var rules = Rules("""
            - id: fifty
              limit_to: 50
              unit: requests_per_minute
            """);
        // Two limiters with their own connections: two policy replicas sharing Redis.
        var replicas = new[] { new RateLimiter(rules, await Connect(), _time), new RateLimiter(rules, await Connect(), _time) };

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => replicas[i % 2].AdmitAsync(Call("ci"))));

        Assert.Equal(50, outcomes.Count(o => o!.Allowed));
        Assert.All(outcomes.Where(o => !o!.Allowed), o =>
        {
            Assert.Equal(0, o!.Remaining);
            Assert.NotNull(o.RetryAfter);
            Assert.InRange(o.RetryAfter!.Value, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(61));
        });
    }

    [Fact]
    public async Task Window_RollsOverOnTheFakeClock_NeverAdmittingMoreThanTheLimitInAnyMinute()
    {
        var limiter = new RateLimiter(Rules("""
            - id: three
              limit_to: 3
              unit: requests_per_minute
            """), await Connect(), _time);

        Assert.True((await limiter.AdmitAsync(Call("ci")))!.Allowed);   // t = 0
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await limiter.AdmitAsync(Call("ci")))!.Allowed);   // t = 30
        Assert.True((await limiter.AdmitAsync(Call("ci")))!.Allowed);   // t = 30
        var refused = (await limiter.AdmitAsync(Call("ci")))!;
        Assert.False(refused.Allowed);
        // The t = 0 call counts until its bucket leaves: 61 s after it (one bucket of slack, never less than 60).
        Assert.Equal(TimeSpan.FromSeconds(31), refused.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(61), refused.Reset);

        _time.Advance(TimeSpan.FromSeconds(30));                         // t = 60: the first call still counts
        Assert.False((await limiter.AdmitAsync(Call("ci")))!.Allowed);
        _time.Advance(TimeSpan.FromSeconds(1));                          // t = 61: it has left the window
        var admitted = (await limiter.AdmitAsync(Call("ci")))!;
        Assert.True(admitted.Allowed);
        Assert.Equal(0, admitted.Remaining);
        Assert.False((await limiter.AdmitAsync(Call("ci")))!.Allowed);

        _time.Advance(TimeSpan.FromMinutes(2));                          // everything has left
        Assert.Equal(2, (await limiter.AdmitAsync(Call("ci")))!.Remaining);
    }

    [Fact]
    public async Task FirstMatchingRuleApplies_InFileOrder()
    {
        var limiter = new RateLimiter(Rules("""
            - id: ci-strict
              when: { subjects: ["virtualaccount:ci"] }
              limit_to: 1
              unit: requests_per_minute
            - id: everyone
              limit_to: 100
              unit: requests_per_minute
            """), await Connect(), _time);

        var ci = (await limiter.AdmitAsync(Call("ci")))!;
        var other = (await limiter.AdmitAsync(Call("web")))!;
        var ciAgain = (await limiter.AdmitAsync(Call("ci")))!;

        Assert.Equal("ci-strict", ci.Rule.Id);
        Assert.Equal("everyone", other.Rule.Id);
        Assert.Equal(99, other.Remaining);
        Assert.False(ciAgain.Allowed); // "everyone" would have allowed it: only the first match counts
        Assert.Null(await new RateLimiter(Rules("""
            - id: other-model
              when: { models: [mock/gpt-4o] }
              limit_to: 1
              unit: requests_per_minute
            """), await Connect(), _time).AdmitAsync(Call("ci")));
    }

    [Fact]
    public async Task AppliesPerMetadataKey_KeepsASeparateCounterPerValue()
    {
        var limiter = new RateLimiter(Rules("""
            - id: per-project
              when: { metadata: { environment: prod } }
              limit_to: 2
              unit: requests_per_hour
              rate_limit_applies_per: [metadata.project]
            """), await Connect(), _time);

        var a = new[] { await Admit("a"), await Admit("a"), await Admit("a") };
        var b = new[] { await Admit("b"), await Admit("b"), await Admit("b") };

        Assert.Equal([true, true, false], a.Select(o => o!.Allowed));
        Assert.Equal([true, true, false], b.Select(o => o!.Allowed));
        // Without environment=prod the rule does not match at all.
        Assert.Null(await limiter.AdmitAsync(Call("ci", new Dictionary<string, string> { ["project"] = "a" })));

        Task<RateLimitOutcome?> Admit(string project) =>
            limiter.AdmitAsync(Call("ci", new Dictionary<string, string> { ["project"] = project, ["environment"] = "prod" }));
    }

    [Fact]
    public async Task TokenLimit_ReservesTheEstimate_AndSettlesToActualUsage()
    {
        var limiter = new RateLimiter(Rules("""
            - id: tpm
              limit_to: 1000
              unit: tokens_per_minute
            """), await Connect(), _time);

        // 100 prompt + 400 max_tokens reserved.
        var first = (await limiter.AdmitAsync(Call("ci", prompt: 100, maxTokens: 400)))!;
        Assert.True(first.Allowed);
        Assert.Equal(500, first.Cost);
        Assert.Equal(500, first.Remaining);
        Assert.NotEmpty(first.Reservation);

        // Another 600 does not fit while the estimate is held...
        Assert.False((await limiter.AdmitAsync(Call("ci", prompt: 100, maxTokens: 500)))!.Allowed);

        // ...and does once the first call settles to the 150 tokens it used.
        Assert.True(await limiter.SettleAsync(first.Reservation, 150));
        var second = (await limiter.AdmitAsync(Call("ci", prompt: 100, maxTokens: 500)))!;
        Assert.True(second.Allowed);
        Assert.Equal(1000 - 150 - 600, second.Remaining);

        // No max_tokens: the documented default (1024) is reserved; with the prompt that is more
        // than the whole limit, so it can never fit and there is no retry time.
        var third = (await limiter.AdmitAsync(Call("ci", prompt: 10)))!;
        Assert.Equal(10 + RateLimiter.DefaultMaxTokens, third.Cost);
        Assert.False(third.Allowed);
        Assert.Null(third.RetryAfter);

        // A reservation whose window has passed is not settled (nothing to give back).
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(await limiter.SettleAsync(second.Reservation, 10));
        Assert.False(await limiter.SettleAsync("garbage", 10));
    }

    [Fact]
    public async Task TokenLimit_ReservesMaxTokensForEachOfTheNCompletions()
    {
        var limiter = new RateLimiter(Rules("""
            - id: tpm
              limit_to: 1000
              unit: tokens_per_minute
            """), await Connect(), _time);

        // n = 3: 100 prompt + 3 × 200 max_tokens.
        var three = (await limiter.AdmitAsync(Call("ci", prompt: 100, maxTokens: 200) with { Choices = 3 }))!;
        Assert.Equal(700, three.Cost);
        Assert.Equal(300, three.Remaining);

        // n = 4 would need 900 more: refused, although prompt + max_tokens alone (300) fits.
        var four = (await limiter.AdmitAsync(Call("ci", prompt: 100, maxTokens: 200) with { Choices = 4 }))!;
        Assert.False(four.Allowed);
        Assert.Equal(900, four.Cost);

        // Without max_tokens every completion reserves the default (more than the whole limit here: refused, cost still reported).
        var defaults = (await limiter.AdmitAsync(Call("ci") with { Choices = 2 }))!;
        Assert.Equal(2 * RateLimiter.DefaultMaxTokens, defaults.Cost);
    }

    private static RateLimitRules Rules(string rules) => RateLimitConfigLoader.Parse(
        "type: gateway-rate-limiting-config\nrules:\n" + string.Join('\n', rules.Split('\n').Select(l => "  " + l)), "gateway.yaml");

    private static AdmissionCall Call(string virtualAccount, Dictionary<string, string>? metadata = null, long prompt = 0, long maxTokens = 0) =>
        new(["virtualaccount:" + virtualAccount], virtualAccount, Model, metadata ?? [], prompt, maxTokens);

    private Task<ConnectionMultiplexer> Connect() => _redis!.ConnectAsync();
}

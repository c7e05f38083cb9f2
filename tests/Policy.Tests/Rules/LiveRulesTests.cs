using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Rules;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.Rules;

/// <summary>
/// Rate-limit and budget rules follow the live configuration (Redis hash + announcement) on two
/// replicas sharing Redis and PostgreSQL, without a restart.
/// </summary>
public sealed class LiveRulesTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private const string Model = "mock/gpt-4o-mini";

    // The file: one rule for somebody else, so "no rule applied" is what the file says for our caller.
    private const string FileYaml = """
        type: gateway-rate-limiting-config
        name: file
        rules:
          - id: other
            when: { subjects: ["virtualaccount:other"] }
            limit_to: 5
            unit: requests_per_minute
        """;

    private const string ThreePerMinute = """
        type: gateway-rate-limiting-config
        name: live
        rules:
          - id: live-three
            when: { subjects: ["virtualaccount:live"] }
            limit_to: 3
            unit: requests_per_minute
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 3, 4, 12, 0, 0, TimeSpan.Zero));
    private PolicyReplicas? _replicas;
    private LiveConfigWriter? _writer;

    private PolicyTestHost First => _replicas!.First;

    private PolicyTestHost Second => _replicas!.Second;

    public async ValueTask InitializeAsync()
    {
        _replicas = await PolicyReplicas.StartAsync(postgres, redis, _time, "policy-live", FileYaml);
        _writer = await LiveConfigWriter.ConnectAsync(_replicas.Redis);
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        if (_replicas is not null)
        {
            await _replicas.DisposeAsync();
        }
    }

    [Fact]
    public async Task PublishedRateLimit_StartsLimitingOnBothReplicas_AndALateReplicaStartsWithIt()
    {
        var token = (await First.CreateTokenAsync("live")).Token;
        Assert.Equal("", (await First.AdmitAsync(token, Model)).RateLimitRule);

        await _writer!.PublishAsync(1, ThreePerMinute);

        // Each replica counts exactly one call once it has the rule (calls before it are not counted).
        var first = await LiveConfigWriter.UntilAsync(async () => (await First.AdmitAsync(token, Model)).RateLimitRule == "live-three", "first replica applies live-three");
        var second = await LiveConfigWriter.UntilAsync(async () => (await Second.AdmitAsync(token, Model)).RateLimitRule == "live-three", "second replica applies live-three");
        TestContext.Current.TestOutputHelper?.WriteLine($"reload observed after {first.TotalMilliseconds:0} ms and {second.TotalMilliseconds:0} ms");

        Assert.Equal(AdmitDecision.Allowed, (await First.AdmitAsync(token, Model)).Decision);
        var limited = await Second.AdmitAsync(token, Model);
        Assert.Equal((AdmitDecision.RateLimited, "live-three"), (limited.Decision, limited.RateLimitRule));

        // A replica that starts after the publish serves the stored configuration from its first call, not the file's.
        var late = await _replicas!.AddReplicaAsync();
        Assert.Equal(1, late.Services.GetRequiredService<LiveConfig<PolicyRules>>().Version);
        var refused = await late.AdmitAsync(token, Model);
        Assert.Equal((AdmitDecision.RateLimited, "live-three"), (refused.Decision, refused.RateLimitRule));
    }

    [Fact]
    public async Task InvalidPublish_KeepsTheRulesInForce_AndTheNextValidVersionAddsABudget()
    {
        var token = (await First.CreateTokenAsync("live")).Token;
        var hundredPerMinute = ThreePerMinute.Replace("limit_to: 3", "limit_to: 100", StringComparison.Ordinal);
        await _writer!.PublishAsync(1, hundredPerMinute);
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(Version(First) == 1 && Version(Second) == 1), "both replicas on version 1");

        await _writer.PublishAsync(2, ThreePerMinute.Replace("limit_to: 3", "limit_to: lots", StringComparison.Ordinal));
        await LiveConfigWriter.UntilAsync(() => Task.FromResult(Rejected(First) == 2 && Rejected(Second) == 2), "both replicas reject version 2");

        Assert.Equal((1L, 1L), (Version(First), Version(Second)));
        var reply = await Second.AdmitAsync(token, Model);
        Assert.Equal((AdmitDecision.Allowed, "live-three", 100L), (reply.Decision, reply.RateLimitRule, reply.RateLimits[0].Limit));

        await _writer.PublishAsync(3, hundredPerMinute + """

            ---
            type: gateway-budget-config
            name: live
            rules:
              - id: live-budget
                when: { subjects: ["virtualaccount:live"] }
                limit_to: 10
                unit: cost_per_day
            """);
        await LiveConfigWriter.UntilAsync(async () => (await First.AdmitAsync(token, Model)).Budgets.Any(b => b.Rule == "live-budget"), "first replica applies live-budget");
        await LiveConfigWriter.UntilAsync(async () => (await Second.AdmitAsync(token, Model)).Budgets.Any(b => b.Rule == "live-budget"), "second replica applies live-budget");
    }

    [Fact]
    public async Task MissedAnnouncement_IsCaughtUpByThePoll()
    {
        var token = (await First.CreateTokenAsync("live")).Token;

        await _writer!.StoreAsync(1, ThreePerMinute); // stored, never announced

        // The poll runs on the injected clock: moving it past the poll interval is what makes a replica look.
        await LiveConfigWriter.UntilAsync(() =>
        {
            _time.Advance(new LiveConfigOptions().PollInterval);
            return Task.FromResult(Version(First) == 1 && Version(Second) == 1);
        }, "both replicas poll version 1");
        Assert.Equal("live-three", (await Second.AdmitAsync(token, Model)).RateLimitRule);
    }

    private static long Version(PolicyTestHost host) => host.Services.GetRequiredService<LiveConfig<PolicyRules>>().Version;

    private static long Rejected(PolicyTestHost host) => host.Services.GetRequiredService<LiveConfigSubscriber<PolicyRules>>().RejectedVersion;
}

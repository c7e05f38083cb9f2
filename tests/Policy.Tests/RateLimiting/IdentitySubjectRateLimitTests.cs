using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.RateLimiting;

/// <summary>Rate-limit rules matching <c>user:</c> and <c>team:</c> subjects, and counting per user and per team.</summary>
public sealed class IdentitySubjectRateLimitTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 12, 0, 0, TimeSpan.Zero));
    private string? _directory;
    private PolicyTestHost? _host;

    private PolicyTestHost Host => _host!;

    public async ValueTask InitializeAsync()
    {
        var database = await postgres.CreateDatabaseAsync("policy");
        _directory = TestDirectories.Create("policy-subjects");
        var config = Path.Combine(_directory, "gateway.yaml");
        await File.WriteAllTextAsync(config, """
            type: gateway-rate-limiting-config
            name: limits
            rules:
              - id: alice-two
                when: { subjects: ["user:alice"] }
                limit_to: 2
                unit: requests_per_minute
              - id: platform-three-each
                when: { subjects: ["team:platform"] }
                limit_to: 3
                unit: requests_per_minute
                rate_limit_applies_per: [user]
              - id: per-team
                when: { subjects: ["team:research", "team:design"] }
                limit_to: 1
                unit: requests_per_minute
                rate_limit_applies_per: [team]
            """, TestContext.Current.CancellationToken);
        _host = await PolicyTestHost.StartAsync(redis.NextDatabase(), database, time: _time, gatewayConfig: config);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_directory is not null)
        {
            TestDirectories.Delete(_directory);
        }
    }

    [Fact]
    public async Task UserSubject_MatchesThatUsersPersonalTokens_BeforeTheirTeamsRule()
    {
        await Host.CreateUserAsync("alice");
        await Host.CreateTeamAsync("platform", [], "alice");
        var laptop = await Host.CreatePersonalTokenAsync("alice", "laptop");
        var ci = await Host.CreatePersonalTokenAsync("alice", "ci");

        var replies = new[]
        {
            await Host.AdmitAsync(laptop.Token, "mock/gpt-4o-mini"),
            await Host.AdmitAsync(ci.Token, "mock/gpt-4o-mini"),
            await Host.AdmitAsync(laptop.Token, "mock/gpt-4o-mini"),
        };

        Assert.All(replies, r => Assert.Equal("alice-two", r.RateLimitRule));
        Assert.Equal([AdmitDecision.Allowed, AdmitDecision.Allowed, AdmitDecision.RateLimited], replies.Select(r => r.Decision));
    }

    [Fact]
    public async Task TeamSubject_MatchesMembersAndTheTeamsVirtualAccounts_CountingPerUser()
    {
        await Host.CreateUserAsync("bob");
        await Host.CreateUserAsync("carol");
        await Host.CreateTeamAsync("platform", [], "bob", "carol");
        var bob = (await Host.CreatePersonalTokenAsync("bob")).Token;
        var carol = (await Host.CreatePersonalTokenAsync("carol")).Token;
        var app = (await Host.CreateTokenAsync(new CreateTokenRequest { Name = "app", Team = "platform", Models = { "mock/gpt-4o-mini" } })).Token;

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(bob, "mock/gpt-4o-mini")).Decision);
        }

        var limited = await Host.AdmitAsync(bob, "mock/gpt-4o-mini");
        var other = await Host.AdmitAsync(carol, "mock/gpt-4o-mini");
        var account = await Host.AdmitAsync(app, "mock/gpt-4o-mini");

        Assert.Equal((AdmitDecision.RateLimited, "platform-three-each"), (limited.Decision, limited.RateLimitRule));
        Assert.Equal((AdmitDecision.Allowed, "platform-three-each", 2L), (other.Decision, other.RateLimitRule, other.RateLimits[0].Remaining));
        Assert.Equal((AdmitDecision.Allowed, "platform-three-each"), (account.Decision, account.RateLimitRule));
    }

    [Fact]
    public async Task AppliesPerTeam_CountsAMemberOfSeveralTeams_AgainstTheTeamTheRuleNames()
    {
        await Host.CreateUserAsync("dana");
        await Host.CreateUserAsync("erin");
        await Host.CreateTeamAsync("analytics", [], "dana");
        await Host.CreateTeamAsync("research", [], "dana", "erin");
        var dana = (await Host.CreatePersonalTokenAsync("dana")).Token;
        var erin = (await Host.CreatePersonalTokenAsync("erin")).Token;

        var first = await Host.AdmitAsync(dana, "mock/gpt-4o-mini");
        // Same rule, same team counter ("research", not dana's first team "analytics").
        var second = await Host.AdmitAsync(erin, "mock/gpt-4o-mini");

        Assert.Equal((AdmitDecision.Allowed, "per-team"), (first.Decision, first.RateLimitRule));
        Assert.Equal((AdmitDecision.RateLimited, "per-team"), (second.Decision, second.RateLimitRule));
    }
}

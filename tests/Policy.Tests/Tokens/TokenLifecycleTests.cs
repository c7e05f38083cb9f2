using System.Diagnostics;
using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Gateway.Aspire.Policy.Tests.Tokens;

/// <summary>List, revoke and rotate over real gRPC: two policy replicas sharing Redis and PostgreSQL, one fake clock.</summary>
public sealed class TokenLifecycleTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 12, 0, 0, TimeSpan.Zero));
    private PolicyReplicas? _replicas;

    private PolicyTestHost First => _replicas!.First;

    private PolicyTestHost Second => _replicas!.Second;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _replicas = await PolicyReplicas.StartAsync(postgres, redis, _time, "policy-tokens");

    public ValueTask DisposeAsync() => _replicas?.DisposeAsync() ?? ValueTask.CompletedTask;

    [Fact]
    public async Task ListTokens_ShowsPrefixAndLastFour_NeverTheSecret()
    {
        var created = await First.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);

        var list = await First.Tokens.ListTokensAsync(new ListTokensRequest(), PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        var info = Assert.Single(list.Tokens);
        Assert.Equal((created.Id, "ci", "virtual-account", "ci"), (info.Id, info.Name, info.Kind, info.VirtualAccount));
        Assert.Equal(created.Token[..11] + "…" + created.Token[^4..], info.Display);
        Assert.Equal(info.Display, created.Display);
        Assert.Equal(["mock/gpt-4o-mini"], info.Models);
        Assert.DoesNotContain(created.Token[11..^4], list.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedToken_StopsWorkingOnTheOtherReplica_WithinOneSecond()
    {
        var created = await First.CreateTokenAsync("ci");
        // Both replicas hold the token in memory; the fake clock never ages those entries out,
        // so only the invalidation message can make the second one forget it.
        Assert.Equal(AdmitDecision.Allowed, (await First.AdmitAsync(created.Token)).Decision);
        Assert.Equal(AdmitDecision.Allowed, (await Second.AdmitAsync(created.Token)).Decision);

        await First.Tokens.RevokeTokenAsync(new RevokeTokenRequest { Id = created.Id }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        Assert.Equal(AdmitDecision.InvalidToken, (await First.AdmitAsync(created.Token)).Decision);
        var elapsed = Stopwatch.StartNew();
        var decision = AdmitDecision.Allowed;
        while (elapsed.Elapsed < TimeSpan.FromSeconds(1) && decision != AdmitDecision.InvalidToken)
        {
            decision = (await Second.AdmitAsync(created.Token)).Decision;
            if (decision != AdmitDecision.InvalidToken)
            {
                await Task.Delay(10, Cancellation);
            }
        }

        Assert.Equal(AdmitDecision.InvalidToken, decision);
        TestContext.Current.TestOutputHelper?.WriteLine($"Refused by the second replica {elapsed.Elapsed.TotalMilliseconds:0.0} ms after the revoke returned.");
        // The shared entry now says "no such token", so no replica reloads the old record.
        await using var client = await ConnectionMultiplexer.ConnectAsync(_replicas!.Redis);
        Assert.Equal("-", (string?)await client.GetDatabase().StringGetAsync(TokenLookup.RedisKeyPrefix + Convert.ToHexStringLower(TokenSecret.Hash(created.Token))));
        Assert.Empty((await First.Tokens.ListTokensAsync(new ListTokensRequest(), PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation)).Tokens);
    }

    [Fact]
    public async Task RevokeToken_UnknownOrAlreadyRevoked_IsNotFound()
    {
        var created = await First.CreateTokenAsync("ci");
        await First.Tokens.RevokeTokenAsync(new RevokeTokenRequest { Id = created.Id }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        foreach (var id in new[] { created.Id, Guid.NewGuid().ToString(), "not-an-id" })
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await First.Tokens.RevokeTokenAsync(
                new RevokeTokenRequest { Id = id }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
            Assert.Equal(StatusCode.NotFound, e.StatusCode);
            Assert.Equal("id", e.Trailers.GetValue(AdminErrors.ParamTrailer));
        }
    }

    [Fact]
    public async Task RotatedToken_OldSecretWorksForTheGracePeriod_OnEveryReplica()
    {
        var created = await First.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);
        Assert.Equal(AdmitDecision.Allowed, (await Second.AdmitAsync(created.Token)).Decision);

        var rotated = await First.Tokens.RotateTokenAsync(new RotateTokenRequest { Id = created.Id, GraceSeconds = 3600 },
            PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        Assert.NotEqual(created.Token, rotated.Token);
        Assert.True(TokenSecret.IsWellFormed(rotated.Token));
        Assert.Equal((created.Id, "ci", "ci"), (rotated.ReplacedId, rotated.Name, rotated.VirtualAccount));
        Assert.Equal(["mock/gpt-4o-mini"], rotated.Models);
        Assert.Equal(_time.GetUtcNow().AddHours(1), rotated.ReplacedExpiresAt.ToDateTimeOffset());
        foreach (var host in new[] { First, Second })
        {
            Assert.Equal(AdmitDecision.Allowed, (await host.AdmitAsync(created.Token)).Decision);
            Assert.Equal(AdmitDecision.Allowed, (await host.AdmitAsync(rotated.Token, "mock/gpt-4o-mini")).Decision);
        }

        _time.Advance(TimeSpan.FromHours(1));

        foreach (var host in new[] { First, Second })
        {
            var old = await host.AdmitAsync(created.Token);
            Assert.Equal((AdmitDecision.InvalidToken, AdmissionService.ExpiredTokenMessage), (old.Decision, old.Message));
            Assert.Equal(AdmitDecision.Allowed, (await host.AdmitAsync(rotated.Token)).Decision);
        }
    }

    [Fact]
    public async Task RotateToken_WithoutGrace_KeepsTheOldSecretForADay_AndZeroEndsItNow()
    {
        var first = await First.CreateTokenAsync("ci");
        var daily = await First.Tokens.RotateTokenAsync(new RotateTokenRequest { Id = first.Id }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);
        Assert.Equal(_time.GetUtcNow() + TokensService.DefaultRotationGrace, daily.ReplacedExpiresAt.ToDateTimeOffset());

        var immediate = await First.Tokens.RotateTokenAsync(new RotateTokenRequest { Id = daily.Id, GraceSeconds = 0 },
            PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        Assert.Equal(AdmitDecision.InvalidToken, (await Second.AdmitAsync(daily.Token)).Decision);
        Assert.Equal(AdmitDecision.Allowed, (await Second.AdmitAsync(immediate.Token)).Decision);
        Assert.Equal(AdmitDecision.Allowed, (await Second.AdmitAsync(first.Token)).Decision); // its own day of grace
        var e = await Assert.ThrowsAsync<RpcException>(async () => await First.Tokens.RotateTokenAsync(
            new RotateTokenRequest { Id = daily.Id }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(30L * 24 * 3600 + 1)]
    public async Task RotateToken_GraceOutOfRange_IsInvalidArgumentNamingTheField(long grace)
    {
        var created = await First.CreateTokenAsync("ci");

        var e = await Assert.ThrowsAsync<RpcException>(async () => await First.Tokens.RotateTokenAsync(
            new RotateTokenRequest { Id = created.Id, GraceSeconds = grace }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("grace_seconds", e.Trailers.GetValue(AdminErrors.ParamTrailer));
        Assert.Equal(AdmitDecision.Allowed, (await First.AdmitAsync(created.Token)).Decision);
    }
}

using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.Testing;
using Grpc.Core;

namespace Gateway.Aspire.Policy.Tests.Tokens;

/// <summary>Tokens.CreateToken over real gRPC against real PostgreSQL and Redis.</summary>
public sealed class TokensServiceTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private string _database = "";
    private PolicyTestHost? _host;

    private PolicyTestHost Host => _host!;

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync("policy");
        _host = await PolicyTestHost.StartAsync(redis.NextDatabase(), _database);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task CreateToken_WithAdminKey_ReturnsSecretOnce_AndStoresOnlyItsHash()
    {
        var reply = await Host.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);

        Assert.True(TokenSecret.IsWellFormed(reply.Token));
        Assert.Equal("ci", reply.Name);
        Assert.Equal(["mock/gpt-4o-mini"], reply.Models);
        Assert.True(Guid.TryParse(reply.Id, out _));
        Assert.NotNull(reply.CreatedAt);
        Assert.Null(reply.ExpiresAt);

        var hashHex = Convert.ToHexStringLower(TokenSecret.Hash(reply.Token));
        Assert.Equal(reply.Id, await PostgresServerFixture.ScalarAsync<string>(_database,
            $"SELECT id::text FROM policy.tokens WHERE hash = '\\x{hashHex}'::bytea"));
        Assert.Equal(reply.Token[..11], await PostgresServerFixture.ScalarAsync<string>(_database,
            $"SELECT prefix FROM policy.tokens WHERE id = '{reply.Id}'"));
        Assert.Equal("virtual-account", await PostgresServerFixture.ScalarAsync<string>(_database,
            $"SELECT kind FROM policy.tokens WHERE id = '{reply.Id}'"));
        // The secret is nowhere in the row.
        Assert.Equal(0L, await PostgresServerFixture.ScalarAsync<long>(_database,
            $"SELECT count(*) FROM policy.tokens t WHERE t::text LIKE '%{reply.Token[11..]}%'"));
    }

    [Fact]
    public async Task CreateToken_WithWrongAdminKey_IsUnauthenticated()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Host.Tokens.CreateTokenAsync(
            new CreateTokenRequest { Name = "ci" }, PolicyTestHost.AdminHeaders("not-the-key"),
            cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal(0L, await PostgresServerFixture.ScalarAsync<long>(_database, "SELECT count(*) FROM policy.tokens"));
    }

    [Fact]
    public async Task AuthorizeAdmin_WithAdminKey_SeesEveryTeam_AndWithoutIsUnauthenticated()
    {
        var reply = await Host.Tokens.AuthorizeAdminAsync(new AuthorizeAdminRequest(), PolicyTestHost.AdminHeaders(),
            cancellationToken: TestContext.Current.CancellationToken);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Host.Tokens.AuthorizeAdminAsync(
            new AuthorizeAdminRequest(), PolicyTestHost.AdminHeaders("not-the-key"), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal("", reply.Team);
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public async Task AuthorizeAdmin_OfATeamAdmin_IsBoundToTheirTeams_WhileOtherAdminCallsRefuseThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await Host.CreateUserAsync("lead");
        await Host.CreateUserAsync("root", admin: true);
        await Host.CreateTeamAsync("team-a", null, "lead");
        await Host.CreateTeamAsync("team-b", null, "lead");
        var lead = await Host.CreatePersonalTokenAsync("lead");
        var root = await Host.CreatePersonalTokenAsync("root");

        // A plain member is no admin of any kind.
        var member = await Assert.ThrowsAsync<RpcException>(async () => await Host.Tokens.AuthorizeAdminAsync(
            new AuthorizeAdminRequest(), PolicyTestHost.AdminHeaders(lead.Token), cancellationToken: ct));
        Assert.Equal(StatusCode.PermissionDenied, member.StatusCode);

        await Host.Identities.AddTeamMemberAsync(new TeamMemberRequest { Team = "team-a", User = "lead", Admin = true }, PolicyTestHost.AdminHeaders(), cancellationToken: ct);
        var teamAdmin = await Host.Tokens.AuthorizeAdminAsync(new AuthorizeAdminRequest(), PolicyTestHost.AdminHeaders(lead.Token), cancellationToken: ct);
        var globalAdmin = await Host.Tokens.AuthorizeAdminAsync(new AuthorizeAdminRequest(), PolicyTestHost.AdminHeaders(root.Token), cancellationToken: ct);
        var listUsers = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.ListUsersAsync(
            new ListIdentitiesRequest(), PolicyTestHost.AdminHeaders(lead.Token), cancellationToken: ct));
        var createToken = await Assert.ThrowsAsync<RpcException>(async () => await Host.Tokens.CreateTokenAsync(
            new CreateTokenRequest { Name = "x", Team = "team-a" }, PolicyTestHost.AdminHeaders(lead.Token), cancellationToken: ct));

        Assert.Equal("team-a", teamAdmin.Team);
        Assert.Equal(["team-a"], teamAdmin.Teams);
        Assert.Equal(("", 0), (globalAdmin.Team, globalAdmin.Teams.Count));
        Assert.Equal((StatusCode.PermissionDenied, StatusCode.PermissionDenied), (listUsers.StatusCode, createToken.StatusCode));
    }

    [Fact]
    public async Task CreateToken_WithoutAdminKey_IsUnauthenticated()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Host.Tokens.CreateTokenAsync(
            new CreateTokenRequest { Name = "ci" }, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public async Task CreateToken_WhenNoAdminKeyIsConfigured_AcceptsNoKey()
    {
        // Admin users' personal tokens still work; a key is then never right.
        await using var host = await PolicyTestHost.StartAsync(redis.NextDatabase(), _database, adminKey: null);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await host.CreateTokenAsync("ci"));

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Contains("no GATEWAY_ADMIN_KEY is configured", e.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("ci", "gpt-4o-mini")]
    public async Task CreateToken_WithInvalidRequest_IsInvalidArgument(string name, string? model)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Host.CreateTokenAsync(name, model is null ? null : [model]));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task CreateToken_ExpiringInThePast_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Host.CreateTokenAsync("ci", expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1)));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("expires_at", e.Status.Detail, StringComparison.Ordinal);
    }
}

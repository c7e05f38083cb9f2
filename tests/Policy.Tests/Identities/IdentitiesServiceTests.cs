using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.Testing;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aspire.Policy.Tests.Identities;

/// <summary>Users, teams, virtual accounts and the tokens they own, over real gRPC against real PostgreSQL and Redis.</summary>
public sealed class IdentitiesServiceTests(PostgresServerFixture postgres, RedisServerFixture redis) : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 12, 0, 0, TimeSpan.Zero));
    private string _database = "";
    private PolicyTestHost? _host;

    private PolicyTestHost Host => _host!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync("policy");
        _host = await PolicyTestHost.StartAsync(redis.NextDatabase(), _database, time: _time);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task PersonalToken_InheritsTheUnionOfItsUsersTeams_AndFollowsMembershipChanges()
    {
        await Host.CreateUserAsync("alice");
        await Host.CreateTeamAsync("platform", ["mock/gpt-4o-mini", "mock/gpt-4o"], "alice");
        await Host.CreateTeamAsync("research", ["claude/sonnet"], "alice");
        var pat = await Host.CreatePersonalTokenAsync("alice");

        Assert.StartsWith(TokenSecret.PersonalPrefix, pat.Token, StringComparison.Ordinal);
        Assert.Equal(("personal", "alice", ""), (pat.Kind, pat.User, pat.VirtualAccount));
        Assert.Equal(["claude/sonnet", "mock/gpt-4o", "mock/gpt-4o-mini"], pat.Models);
        var reply = await Host.AdmitAsync(pat.Token, "claude/sonnet");
        Assert.Equal(AdmitDecision.Allowed, reply.Decision);
        Assert.Equal(("personal", "alice", ""), (reply.Identity.Kind, reply.Identity.User, reply.Identity.VirtualAccount));
        Assert.Equal(["platform", "research"], reply.Identity.Teams);
        Assert.Equal(AdmitDecision.ModelNotAllowed, (await Host.AdmitAsync(pat.Token, "gemini/flash")).Decision);

        // Leaving a team takes its models away at once (the cached identity is invalidated).
        await Host.Identities.RemoveTeamMemberAsync(new TeamMemberRequest { Team = "research", User = "alice" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        var after = await Host.AdmitAsync(pat.Token, "claude/sonnet");
        Assert.Equal(AdmitDecision.ModelNotAllowed, after.Decision);
        Assert.Equal(["platform"], after.Identity.Teams);
        Assert.Equal(["mock/gpt-4o", "mock/gpt-4o-mini"], after.AllowedModels);
    }

    [Fact]
    public async Task PersonalToken_OfAUserInNoTeamOrAnUnrestrictedTeam_MayUseEveryModel()
    {
        await Host.CreateUserAsync("solo");
        await Host.CreateUserAsync("ops");
        await Host.CreateTeamAsync("sre", [], "ops");
        await Host.CreateTeamAsync("narrow", ["mock/gpt-4o"], "ops");

        foreach (var user in new[] { "solo", "ops" })
        {
            var reply = await Host.AdmitAsync((await Host.CreatePersonalTokenAsync(user)).Token, "any/model");
            Assert.Equal(AdmitDecision.Allowed, reply.Decision);
            Assert.Empty(reply.AllowedModels);
        }
    }

    [Fact]
    public async Task VirtualAccountToken_MayUseOnlyItsAccountsModels_AndIsSeenWithItsTeam()
    {
        await Host.CreateTeamAsync("platform");
        var created = await Host.CreateTokenAsync(new CreateTokenRequest { Name = "billing-app", Team = "platform", Models = { "mock/gpt-4o-mini", "claude/sonnet" } });

        Assert.Equal(("virtual-account", "billing-app", "platform"), (created.Kind, created.VirtualAccount, created.Team));
        var allowed = await Host.AdmitAsync(created.Token, "claude/sonnet");
        Assert.Equal(AdmitDecision.Allowed, allowed.Decision);
        Assert.Equal(("virtual-account", "billing-app", ""), (allowed.Identity.Kind, allowed.Identity.VirtualAccount, allowed.Identity.User));
        Assert.Equal(["platform"], allowed.Identity.Teams);
        Assert.Equal(AdmitDecision.ModelNotAllowed, (await Host.AdmitAsync(created.Token, "mock/gpt-4o")).Decision);

        // A second token for the same account: same models, no need to repeat them.
        var second = await Host.CreateTokenAsync(new CreateTokenRequest { Name = "billing-app" });
        Assert.Equal(["mock/gpt-4o-mini", "claude/sonnet"], second.Models);
        var accounts = await Host.Identities.ListVirtualAccountsAsync(new ListIdentitiesRequest(), PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);
        Assert.Equal(("billing-app", "platform"), (Assert.Single(accounts.VirtualAccounts).Name, accounts.VirtualAccounts[0].Team));
    }

    [Fact]
    public async Task OlderStandAloneTokens_StillWork_AsTheirOwnVirtualAccount()
    {
        var legacy = await Host.CreateTokenAsync("ci", ["mock/gpt-4o-mini"]);

        var reply = await Host.AdmitAsync(legacy.Token, "mock/gpt-4o-mini");

        Assert.Equal(AdmitDecision.Allowed, reply.Decision);
        Assert.Equal(("virtual-account", "ci"), (reply.Identity.Kind, reply.Identity.VirtualAccount));
        Assert.Empty(reply.Identity.Teams);
    }

    [Fact]
    public async Task AdminCalls_AcceptAnAdminsPersonalToken_AndRefuseOtherTokensWithPermissionDenied()
    {
        await Host.CreateUserAsync("root", admin: true);
        await Host.CreateUserAsync("dev");
        var admin = await Host.CreatePersonalTokenAsync("root");
        var dev = await Host.CreatePersonalTokenAsync("dev");
        var app = await Host.CreateTokenAsync("app");

        var users = await Host.Identities.ListUsersAsync(new ListIdentitiesRequest(), PolicyTestHost.AdminHeaders(admin.Token), cancellationToken: Cancellation);
        Assert.Equal(["dev", "root"], users.Users.Select(u => u.Name));
        Assert.True(users.Users.Single(u => u.Name == "root").Admin);

        foreach (var token in new[] { dev.Token, app.Token })
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.ListUsersAsync(
                new ListIdentitiesRequest(), PolicyTestHost.AdminHeaders(token), cancellationToken: Cancellation));
            Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        }

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.ListUsersAsync(
            new ListIdentitiesRequest(), PolicyTestHost.AdminHeaders(TokenSecret.Generate(TokenSecret.PersonalPrefix)), cancellationToken: Cancellation));
        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
    }

    [Fact]
    public async Task DuplicateNames_AreAlreadyExists_AndBadFieldsAreNamed()
    {
        await Host.CreateUserAsync("alice");
        await Host.CreateTeamAsync("platform");

        var user = await Assert.ThrowsAsync<RpcException>(async () => await Host.CreateUserAsync("alice"));
        var team = await Assert.ThrowsAsync<RpcException>(async () => await Host.CreateTeamAsync("platform"));
        var email = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.CreateUserAsync(
            new CreateUserRequest { Name = "bob", Email = "not an address" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
        var models = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.CreateVirtualAccountAsync(
            new CreateVirtualAccountRequest { Name = "app", Team = "platform" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
        var noTeam = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.CreateVirtualAccountAsync(
            new CreateVirtualAccountRequest { Name = "app", Team = "nope", Models = { "mock/gpt-4o" } }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
        var patModels = await Assert.ThrowsAsync<RpcException>(async () => await Host.CreateTokenAsync(
            new CreateTokenRequest { Name = "x", Kind = "personal", User = "alice", Models = { "mock/gpt-4o" } }));
        var noUser = await Assert.ThrowsAsync<RpcException>(async () => await Host.CreatePersonalTokenAsync("nobody"));

        Assert.Equal((StatusCode.AlreadyExists, "A user named 'alice' already exists."), (user.StatusCode, user.Status.Detail));
        Assert.Equal((StatusCode.AlreadyExists, "name"), (team.StatusCode, team.Trailers.GetValue(AdminErrors.ParamTrailer)));
        Assert.Equal((StatusCode.InvalidArgument, "email"), (email.StatusCode, email.Trailers.GetValue(AdminErrors.ParamTrailer)));
        Assert.Equal((StatusCode.InvalidArgument, "models"), (models.StatusCode, models.Trailers.GetValue(AdminErrors.ParamTrailer)));
        Assert.Equal((StatusCode.NotFound, "team"), (noTeam.StatusCode, noTeam.Trailers.GetValue(AdminErrors.ParamTrailer)));
        Assert.Equal((StatusCode.InvalidArgument, "models"), (patModels.StatusCode, patModels.Trailers.GetValue(AdminErrors.ParamTrailer)));
        Assert.Equal((StatusCode.NotFound, "user"), (noUser.StatusCode, noUser.Trailers.GetValue(AdminErrors.ParamTrailer)));
    }

    [Fact]
    public async Task Deletions_RevokeTheTokensTheyOwn_AndATeamWithAccountsIsKept()
    {
        await Host.CreateUserAsync("alice");
        await Host.CreateTeamAsync("platform", [], "alice");
        var pat = await Host.CreatePersonalTokenAsync("alice");
        var vat = await Host.CreateTokenAsync(new CreateTokenRequest { Name = "app", Team = "platform", Models = { "mock/gpt-4o" } });
        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(pat.Token)).Decision);
        Assert.Equal(AdmitDecision.Allowed, (await Host.AdmitAsync(vat.Token)).Decision);

        var inUse = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.DeleteTeamAsync(
            new DeleteIdentityRequest { Id = "platform" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
        Assert.Equal(StatusCode.FailedPrecondition, inUse.StatusCode);
        Assert.Contains("app", inUse.Status.Detail, StringComparison.Ordinal);

        var account = await Host.Identities.DeleteVirtualAccountAsync(new DeleteIdentityRequest { Id = "app" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);
        var user = await Host.Identities.DeleteUserAsync(new DeleteIdentityRequest { Id = "alice" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);
        await Host.Identities.DeleteTeamAsync(new DeleteIdentityRequest { Id = "platform" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation);

        Assert.Equal((1, 1), (account.RevokedTokens, user.RevokedTokens));
        Assert.Equal(AdmitDecision.InvalidToken, (await Host.AdmitAsync(pat.Token)).Decision);
        Assert.Equal(AdmitDecision.InvalidToken, (await Host.AdmitAsync(vat.Token)).Decision);
        var again = await Assert.ThrowsAsync<RpcException>(async () => await Host.Identities.DeleteUserAsync(
            new DeleteIdentityRequest { Id = "alice" }, PolicyTestHost.AdminHeaders(), cancellationToken: Cancellation));
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
    }
}

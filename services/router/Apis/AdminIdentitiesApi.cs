using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// <c>/admin/v1/users</c>, <c>/admin/v1/teams</c> (and their <c>members</c>) and
/// <c>/admin/v1/virtual-accounts</c>: create, list, delete, relayed to policy's Identities service.
/// Path ids accept the id or the name.
/// </summary>
public static class AdminIdentitiesApi
{
    /// <summary>Maps the identity endpoints on the <c>/admin/v1</c> group.</summary>
    public static RouteGroupBuilder MapAdminIdentitiesApi(this RouteGroupBuilder admin)
    {
        admin.MapPost("/users", CreateUserAsync);
        admin.MapGet("/users", (HttpContext context, Identities.IdentitiesClient identities) => AdminApi.RelayAsync(context,
            options => identities.ListUsersAsync(new ListIdentitiesRequest(), options),
            reply => TypedResults.Json(new AdminList<UserResponse>("list", [.. reply.Users.Select(UserResponse.From)]), RouterJsonContext.Web.AdminListUserResponse)));
        admin.MapDelete("/users/{id}", (string id, HttpContext context, Identities.IdentitiesClient identities) =>
            AdminApi.RelayAsync(context, options => identities.DeleteUserAsync(new DeleteIdentityRequest { Id = id }, options), _ => TypedResults.NoContent()));

        admin.MapPost("/teams", CreateTeamAsync);
        admin.MapGet("/teams", (HttpContext context, Identities.IdentitiesClient identities) => AdminApi.RelayAsync(context,
            options => identities.ListTeamsAsync(new ListIdentitiesRequest(), options),
            reply => TypedResults.Json(new AdminList<TeamResponse>("list", [.. reply.Teams.Select(TeamResponse.From)]), RouterJsonContext.Web.AdminListTeamResponse)));
        admin.MapDelete("/teams/{id}", (string id, HttpContext context, Identities.IdentitiesClient identities) =>
            AdminApi.RelayAsync(context, options => identities.DeleteTeamAsync(new DeleteIdentityRequest { Id = id }, options), _ => TypedResults.NoContent()));
        admin.MapPost("/teams/{team}/members", AddMemberAsync);
        admin.MapDelete("/teams/{team}/members/{user}", (string team, string user, HttpContext context, Identities.IdentitiesClient identities) =>
            AdminApi.RelayAsync(context, options => identities.RemoveTeamMemberAsync(new TeamMemberRequest { Team = team, User = user }, options), _ => TypedResults.NoContent()));

        admin.MapPost("/virtual-accounts", CreateVirtualAccountAsync);
        admin.MapGet("/virtual-accounts", (HttpContext context, Identities.IdentitiesClient identities) => AdminApi.RelayAsync(context,
            options => identities.ListVirtualAccountsAsync(new ListIdentitiesRequest(), options),
            reply => TypedResults.Json(
                new AdminList<VirtualAccountResponse>("list", [.. reply.VirtualAccounts.Select(VirtualAccountResponse.From)]), RouterJsonContext.Web.AdminListVirtualAccountResponse)));
        admin.MapDelete("/virtual-accounts/{id}", (string id, HttpContext context, Identities.IdentitiesClient identities) =>
            AdminApi.RelayAsync(context, options => identities.DeleteVirtualAccountAsync(new DeleteIdentityRequest { Id = id }, options), _ => TypedResults.NoContent()));
        return admin;
    }

    internal static async Task<IResult> CreateUserAsync(HttpContext context, Identities.IdentitiesClient identities)
    {
        var (body, error) = await AdminApi.ReadBodyAsync(context, RouterJsonContext.Default.CreateUserBody, """{"name": "alice", "email": "alice@example.com", "admin": false}""");
        return error ?? await AdminApi.RelayAsync(context,
            options => identities.CreateUserAsync(new CreateUserRequest { Name = body!.Name ?? "", Email = body.Email ?? "", Admin = body.Admin ?? false }, options),
            user => TypedResults.Json(UserResponse.From(user), RouterJsonContext.Web.UserResponse, statusCode: 201));
    }

    /// <summary>Creates a team, then adds <c>members</c> one by one (a member that fails stops there, with that error).</summary>
    internal static async Task<IResult> CreateTeamAsync(HttpContext context, Identities.IdentitiesClient identities, LiveConfig<RouterConfig> live)
    {
        var (body, error) = await AdminApi.ReadBodyAsync(context, RouterJsonContext.Default.CreateTeamBody, """{"name": "platform", "models": ["mock/gpt-4o-mini"], "members": ["alice"]}""");
        if (error is not null)
        {
            return error;
        }

        if (AdminTokensApi.UnknownModel(body!.Models, live.Current) is { } unknown)
        {
            return unknown;
        }

        var (team, failure) = await AdminApi.CallAsync(context,
            options => identities.CreateTeamAsync(new CreateTeamRequest { Name = body.Name ?? "", Models = { body.Models ?? [] } }, options));
        foreach (var member in body.Members ?? [])
        {
            if (failure is not null)
            {
                break;
            }

            (team, failure) = await AdminApi.CallAsync(context,
                options => identities.AddTeamMemberAsync(new TeamMemberRequest { Team = team!.Id, User = member }, options));
        }

        return failure ?? TypedResults.Json(TeamResponse.From(team!), RouterJsonContext.Web.TeamResponse, statusCode: 201);
    }

    internal static async Task<IResult> AddMemberAsync(string team, HttpContext context, Identities.IdentitiesClient identities)
    {
        var (body, error) = await AdminApi.ReadBodyAsync(context, RouterJsonContext.Default.TeamMemberBody, """{"user": "alice", "admin": false}""");
        return error ?? await AdminApi.RelayAsync(context,
            options => identities.AddTeamMemberAsync(new TeamMemberRequest { Team = team, User = body!.User ?? "", Admin = body.Admin ?? false }, options),
            updated => TypedResults.Json(TeamResponse.From(updated), RouterJsonContext.Web.TeamResponse, statusCode: 201));
    }

    internal static async Task<IResult> CreateVirtualAccountAsync(HttpContext context, Identities.IdentitiesClient identities, LiveConfig<RouterConfig> live)
    {
        var (body, error) = await AdminApi.ReadBodyAsync(context, RouterJsonContext.Default.CreateVirtualAccountBody,
            """{"name": "billing-app", "team": "platform", "models": ["mock/gpt-4o-mini"], "metadata": {"owner": "billing"}}""");
        if (error is not null)
        {
            return error;
        }

        if (AdminTokensApi.UnknownModel(body!.Models, live.Current) is { } unknown)
        {
            return unknown;
        }

        var request = new CreateVirtualAccountRequest { Name = body.Name ?? "", Team = body.Team ?? "", Models = { body.Models ?? [] } };
        request.Metadata.Add(new Dictionary<string, string>(body.Metadata ?? new Dictionary<string, string>()));
        return await AdminApi.RelayAsync(context, options => identities.CreateVirtualAccountAsync(request, options),
            account => TypedResults.Json(VirtualAccountResponse.From(account), RouterJsonContext.Web.VirtualAccountResponse, statusCode: 201));
    }
}

using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Tokens;
using Grpc.Core;

namespace Gateway.Aspire.Policy.Identities;

/// <summary>
/// Users, teams and virtual accounts over gRPC, for the router's <c>/admin/v1</c> API. Every call
/// needs an admin credential (<see cref="AdminAuthenticator"/>). A change that alters what tokens
/// resolve to (membership, deletions) reaches every replica through <see cref="TokenInvalidation"/>.
/// </summary>
public sealed class IdentitiesService(
    AdminAuthenticator authenticator, IdentityRepository repository, TokenInvalidation invalidation, TimeProvider time,
    ILogger<IdentitiesService> logger) : Grpc.Identities.IdentitiesBase
{
    /// <summary>Most metadata entries on a virtual account, and the longest key and value.</summary>
    public const int MaxMetadataEntries = 32, MaxMetadataKeyLength = 64, MaxMetadataValueLength = 256;

    /// <summary>Longest e-mail address (RFC 5321).</summary>
    public const int MaxEmailLength = 254;

    /// <inheritdoc />
    public override async Task<User> CreateUser(CreateUserRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var name = Name(request.Name, "name");
        var email = request.Email.Trim();
        if (email.Length > MaxEmailLength || (email.Length > 0 && (!email.Contains('@', StringComparison.Ordinal) || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))))
        {
            throw AdminErrors.Invalid("email", $"'email' must be an e-mail address of at most {MaxEmailLength} characters.");
        }

        var user = await AdminErrors.StoreAsync(
            () => repository.InsertUserAsync(Guid.CreateVersion7(time.GetUtcNow()), name, email, request.Admin, TokensService.StoredNow(time), context.CancellationToken),
            logger, $"A user named '{name}' already exists.");
        PolicyLog.IdentityChanged(logger, "Created", "user", name, 0);
        return user;
    }

    /// <inheritdoc />
    public override async Task<UserList> ListUsers(ListIdentitiesRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        return new UserList { Users = { await AdminErrors.StoreAsync(() => repository.ListUsersAsync(context.CancellationToken), logger) } };
    }

    /// <inheritdoc />
    public override async Task<DeleteIdentityReply> DeleteUser(DeleteIdentityRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var hashes = await AdminErrors.StoreAsync(() => repository.DeleteUserAsync(request.Id, context.CancellationToken), logger)
            ?? throw AdminErrors.NotFound($"No user with id or name '{request.Id}'.", "id");
        return await InvalidatedAsync("Deleted", "user", request.Id, hashes, context);
    }

    /// <inheritdoc />
    public override async Task<Team> CreateTeam(CreateTeamRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var name = Name(request.Name, "name");
        var models = Models(request.Models, required: false);
        var team = await AdminErrors.StoreAsync(
            () => repository.InsertTeamAsync(Guid.CreateVersion7(time.GetUtcNow()), name, models, TokensService.StoredNow(time), context.CancellationToken),
            logger, $"A team named '{name}' already exists.");
        PolicyLog.IdentityChanged(logger, "Created", "team", name, 0);
        return team;
    }

    /// <inheritdoc />
    public override async Task<TeamList> ListTeams(ListIdentitiesRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        return new TeamList { Teams = { await AdminErrors.StoreAsync(() => repository.ListTeamsAsync(null, context.CancellationToken), logger) } };
    }

    /// <inheritdoc />
    public override async Task<DeleteIdentityReply> DeleteTeam(DeleteIdentityRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var accounts = await AdminErrors.StoreAsync(() => repository.VirtualAccountsOfTeamAsync(request.Id, context.CancellationToken), logger);
        if (accounts.Count > 0)
        {
            throw AdminErrors.Conflict(
                $"Team '{request.Id}' owns virtual accounts ({string.Join(", ", accounts.Take(5))}{(accounts.Count > 5 ? ", …" : "")}); delete them first.");
        }

        var hashes = await AdminErrors.StoreAsync(() => repository.DeleteTeamAsync(request.Id, context.CancellationToken), logger)
            ?? throw AdminErrors.NotFound($"No team with id or name '{request.Id}'.", "id");
        return await InvalidatedAsync("Deleted", "team", request.Id, hashes, context);
    }

    /// <inheritdoc />
    public override Task<Team> AddTeamMember(TeamMemberRequest request, ServerCallContext context) => ChangeMembershipAsync(request, add: true, context);

    /// <inheritdoc />
    public override Task<Team> RemoveTeamMember(TeamMemberRequest request, ServerCallContext context) => ChangeMembershipAsync(request, add: false, context);

    /// <inheritdoc />
    public override async Task<VirtualAccount> CreateVirtualAccount(CreateVirtualAccountRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var name = Name(request.Name, "name");
        var team = Name(request.Team, "team");
        var models = Models(request.Models, required: true);
        ValidateMetadata(request.Metadata);
        var account = await AdminErrors.StoreAsync(
            () => repository.InsertVirtualAccountAsync(
                Guid.CreateVersion7(time.GetUtcNow()), name, team, models, request.Metadata, TokensService.StoredNow(time), context.CancellationToken),
            logger, $"A virtual account named '{name}' already exists.")
            ?? throw AdminErrors.NotFound($"No team with id or name '{team}'.", "team");
        PolicyLog.IdentityChanged(logger, "Created", "virtual account", name, 0);
        return account;
    }

    /// <inheritdoc />
    public override async Task<VirtualAccountList> ListVirtualAccounts(ListIdentitiesRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        return new VirtualAccountList { VirtualAccounts = { await AdminErrors.StoreAsync(() => repository.ListVirtualAccountsAsync(context.CancellationToken), logger) } };
    }

    /// <inheritdoc />
    public override async Task<DeleteIdentityReply> DeleteVirtualAccount(DeleteIdentityRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var hashes = await AdminErrors.StoreAsync(() => repository.DeleteVirtualAccountAsync(request.Id, context.CancellationToken), logger)
            ?? throw AdminErrors.NotFound($"No virtual account with id or name '{request.Id}'.", "id");
        return await InvalidatedAsync("Deleted", "virtual account", request.Id, hashes, context);
    }

    /// <summary>
    /// Validates <c>models</c>: <c>&lt;account&gt;/&lt;model&gt;</c> names, at least one when
    /// <paramref name="required"/> (a virtual account's list is explicit).
    /// </summary>
    internal static IReadOnlyList<string> Models(IReadOnlyList<string> values, bool required)
    {
        if (required && values.Count == 0)
        {
            throw AdminErrors.Invalid("models", "'models' must list at least one '<account>/<model>': a virtual account may only call the models it names.");
        }

        return CreateTokenValidator.ValidateModels(values, "models", out var error) ?? throw AdminErrors.Invalid("models", error!);
    }

    private async Task<Team> ChangeMembershipAsync(TeamMemberRequest request, bool add, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var team = Name(request.Team, "team");
        var user = Name(request.User, "user");
        var (hashes, missing) = await AdminErrors.StoreAsync(
            () => repository.ChangeMembershipAsync(team, user, request.Admin, add, context.CancellationToken), logger);
        if (hashes is null)
        {
            throw missing switch
            {
                "team" => AdminErrors.NotFound($"No team with id or name '{team}'.", "team"),
                "user" => AdminErrors.NotFound($"No user with id or name '{user}'.", "user"),
                _ => AdminErrors.NotFound($"User '{user}' is not a member of team '{team}'.", "user"),
            };
        }

        await InvalidatedAsync(add ? "Added a member to" : "Removed a member from", "team", team, hashes, context);
        return (await AdminErrors.StoreAsync(() => repository.ListTeamsAsync(team, context.CancellationToken), logger))[0];
    }

    private async Task<DeleteIdentityReply> InvalidatedAsync(string change, string kind, string name, IReadOnlyList<byte[]> hashes, ServerCallContext context)
    {
        await invalidation.InvalidateAsync(hashes, context.CancellationToken);
        PolicyLog.IdentityChanged(logger, change, kind, name, hashes.Count);
        return new DeleteIdentityReply { RevokedTokens = hashes.Count };
    }

    private static string Name(string value, string field) =>
        CreateTokenValidator.ValidateName(value, field, out var error) ?? throw AdminErrors.Invalid(field, error!);

    private static void ValidateMetadata(IDictionary<string, string> metadata)
    {
        if (metadata.Count > MaxMetadataEntries)
        {
            throw AdminErrors.Invalid("metadata", $"'metadata' may hold at most {MaxMetadataEntries} entries.");
        }

        foreach (var (key, value) in metadata)
        {
            if (key.Length is 0 or > MaxMetadataKeyLength || value.Length > MaxMetadataValueLength || key.Any(char.IsControl))
            {
                throw AdminErrors.Invalid("metadata",
                    $"'metadata' keys must be 1–{MaxMetadataKeyLength} characters and values at most {MaxMetadataValueLength} characters.");
            }
        }
    }
}

using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.Identities;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>
/// Token administration over gRPC. Every call needs an admin credential; the secret of a new token
/// is in the reply and nowhere else (only its SHA-256 is stored). Revocation and rotation reach
/// every replica within a second (<see cref="TokenInvalidation"/>).
/// </summary>
public sealed class TokensService(
    AdminAuthenticator authenticator, TokenRepository repository, IdentityRepository identities, TokenInvalidation invalidation,
    TimeProvider time, ILogger<TokensService> logger)
    : Grpc.Tokens.TokensBase
{
    /// <summary>How long a rotated token's old secret keeps working when the call does not say.</summary>
    public static readonly TimeSpan DefaultRotationGrace = TimeSpan.FromHours(24);

    /// <summary>The longest grace period a rotation may give the old secret.</summary>
    public static readonly TimeSpan MaxRotationGrace = TimeSpan.FromDays(30);

    /// <inheritdoc />
    public override async Task<CreateTokenReply> CreateToken(CreateTokenRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);

        var valid = CreateTokenValidator.Validate(request, time.GetUtcNow(), out var error, out var param)
            ?? throw AdminErrors.Invalid(param, error!);
        var template = valid.Kind == TokenKinds.Personal
            ? await PersonalAsync(valid, context.CancellationToken)
            : await VirtualAccountAsync(valid, context.CancellationToken);

        var (token, secret) = NewToken(template);
        await AdminErrors.StoreAsync(async () => { await repository.InsertAsync(token, context.CancellationToken); return true; }, logger);
        PolicyLog.TokenCreated(logger, token.Id, token.Name, token.Prefix, token.Models.Count, token.ExpiresAt);
        return await ReplyAsync(token, secret, context.CancellationToken);
    }

    /// <inheritdoc />
    public override async Task<TokenList> ListTokens(ListTokensRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var tokens = await AdminErrors.StoreAsync(() => repository.ListActiveAsync(context.CancellationToken), logger);
        var list = new TokenList();
        foreach (var token in tokens)
        {
            var record = token.Record;
            var info = new TokenInfo
            {
                Id = record.Id.ToString(),
                Name = record.Name,
                Kind = record.Kind,
                Display = token.Display,
                User = record.User ?? "",
                Team = record.Kind == TokenKinds.Personal ? "" : record.Teams.FirstOrDefault() ?? "",
                VirtualAccount = record.VirtualAccountName ?? "",
                Models = { record.Models },
                CreatedAt = Timestamp.FromDateTimeOffset(token.CreatedAt),
                ExpiresAt = record.ExpiresAt is { } expiresAt ? Timestamp.FromDateTimeOffset(expiresAt) : null,
                RotatedTo = token.RotatedTo?.ToString() ?? "",
            };
            list.Tokens.Add(info);
        }

        return list;
    }

    /// <inheritdoc />
    public override async Task<RevokeTokenReply> RevokeToken(RevokeTokenRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var id = TokenId(request.Id);
        var hash = await AdminErrors.StoreAsync(() => repository.RevokeAsync(id, time.GetUtcNow(), context.CancellationToken), logger)
            ?? throw UnknownToken(request.Id);
        await invalidation.InvalidateAsync([hash], context.CancellationToken);
        PolicyLog.TokenRevoked(logger, id);
        return new RevokeTokenReply();
    }

    /// <inheritdoc />
    public override async Task<CreateTokenReply> RotateToken(RotateTokenRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var id = TokenId(request.Id);
        var grace = request.HasGraceSeconds ? TimeSpan.FromSeconds(request.GraceSeconds) : DefaultRotationGrace;
        if (request.GraceSeconds < 0 || grace > MaxRotationGrace)
        {
            throw AdminErrors.Invalid("grace_seconds", $"'grace_seconds' must be between 0 and {(long)MaxRotationGrace.TotalSeconds} ({MaxRotationGrace.TotalDays:0} days).");
        }

        var old = await AdminErrors.StoreAsync(() => repository.FindActiveAsync(id, context.CancellationToken), logger) ?? throw UnknownToken(request.Id);
        var now = time.GetUtcNow();
        if (old.Record.IsExpiredAt(now))
        {
            throw AdminErrors.Conflict($"Token '{request.Id}' has expired; create a new token instead of rotating it.");
        }

        // The replacement keeps the identity, the model list and the expiry; the old secret works
        // until the grace period ends (or its own expiry, if sooner).
        var (token, secret) = NewToken(old.Stored);
        var oldExpiresAt = old.Record.ExpiresAt is { } expiry && expiry < now + grace ? expiry : now + grace;
        if (!await AdminErrors.StoreAsync(() => repository.RotateAsync(id, token, oldExpiresAt, now, context.CancellationToken), logger))
        {
            throw UnknownToken(request.Id);
        }

        await invalidation.InvalidateAsync([old.Hash], context.CancellationToken);
        PolicyLog.TokenRotated(logger, id, token.Id, oldExpiresAt);
        var reply = await ReplyAsync(token, secret, context.CancellationToken);
        reply.ReplacedId = id.ToString();
        reply.ReplacedExpiresAt = Timestamp.FromDateTimeOffset(oldExpiresAt);
        return reply;
    }

    /// <summary>Now at microsecond precision: what PostgreSQL stores, so replies equal what is read back later.</summary>
    internal static DateTimeOffset StoredNow(TimeProvider time)
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);
    }

    private async Task<StoredToken> PersonalAsync(ValidTokenRequest valid, CancellationToken cancellationToken)
    {
        var user = await AdminErrors.StoreAsync(() => identities.FindUserAsync(valid.User, cancellationToken), logger)
            ?? throw AdminErrors.NotFound($"No user with id or name '{valid.User}'.", "user");
        return Template(valid, TokenKinds.Personal, []) with { UserId = user.Id };
    }

    /// <summary>
    /// A token of the virtual account named <c>name</c>; with a <c>team</c> and an unknown name the
    /// account is created first; with neither a stand-alone token, as before identities existed.
    /// </summary>
    private async Task<StoredToken> VirtualAccountAsync(ValidTokenRequest valid, CancellationToken cancellationToken)
    {
        var account = await AdminErrors.StoreAsync(() => identities.FindVirtualAccountAsync(valid.Name, cancellationToken), logger);
        if (account is null && valid.Team.Length > 0)
        {
            var models = IdentitiesService.Models(valid.Models, required: true);
            var created = await AdminErrors.StoreAsync(
                () => identities.InsertVirtualAccountAsync(Guid.CreateVersion7(time.GetUtcNow()), valid.Name, valid.Team, models,
                    new Dictionary<string, string>(), StoredNow(time), cancellationToken),
                logger, $"A virtual account named '{valid.Name}' already exists.")
                ?? throw AdminErrors.NotFound($"No team with id or name '{valid.Team}'.", "team");
            PolicyLog.IdentityChanged(logger, "Created", "virtual account", valid.Name, 0);
            account = new VirtualAccountRef(Guid.Parse(created.Id), created.Team, models);
        }

        if (account is null)
        {
            return Template(valid, TokenKinds.VirtualAccount, valid.Models);
        }

        if (valid.Team.Length > 0 && !string.Equals(valid.Team, account.Team, StringComparison.Ordinal)
            && !string.Equals((await identities.ListTeamsAsync(valid.Team, cancellationToken)).FirstOrDefault()?.Name, account.Team, StringComparison.Ordinal))
        {
            throw AdminErrors.Invalid("team", $"Virtual account '{valid.Name}' belongs to team '{account.Team}', not '{valid.Team}'.");
        }

        if (valid.Models.Count > 0 && !valid.Models.ToHashSet(StringComparer.Ordinal).SetEquals(account.Models))
        {
            throw AdminErrors.Invalid("models",
                $"Virtual account '{valid.Name}' already exists with its own models ({string.Join(", ", account.Models)}); omit 'models' to issue a token for it.");
        }

        return Template(valid, TokenKinds.VirtualAccount, []) with { VirtualAccountId = account.Id };
    }

    private StoredToken Template(ValidTokenRequest valid, string kind, IReadOnlyList<string> models) =>
        new(Guid.Empty, valid.Name, kind, "", [], models, StoredNow(time), valid.ExpiresAt);

    /// <summary>A new token with a fresh id and secret, otherwise as <paramref name="template"/>.</summary>
    private (StoredToken Token, string Secret) NewToken(StoredToken template)
    {
        var secret = TokenSecret.Generate(template.Kind == TokenKinds.Personal ? TokenSecret.PersonalPrefix : TokenSecret.VirtualAccountPrefix);
        var token = template with
        {
            Id = Guid.CreateVersion7(time.GetUtcNow()),
            Prefix = TokenSecret.DisplayPrefix(secret),
            Hash = TokenSecret.Hash(secret),
            Last4 = TokenSecret.Last4(secret),
            CreatedAt = StoredNow(time),
        };
        return (token, secret);
    }

    /// <summary>The reply for a token just stored, with its identity resolved as admission will see it.</summary>
    private async Task<CreateTokenReply> ReplyAsync(StoredToken token, string secret, CancellationToken cancellationToken)
    {
        var record = await AdminErrors.StoreAsync(() => repository.FindActiveAsync(token.Hash, cancellationToken), logger)
            ?? throw new RpcException(new Status(StatusCode.Aborted, "The token was revoked while it was being created."));
        return new CreateTokenReply
        {
            Id = token.Id.ToString(),
            Name = token.Name,
            Kind = token.Kind,
            Token = secret,
            User = record.User ?? "",
            Team = record.Kind == TokenKinds.Personal ? "" : record.Teams.FirstOrDefault() ?? "",
            VirtualAccount = record.VirtualAccountName ?? "",
            Display = token.Prefix + "…" + token.Last4,
            Models = { record.Models },
            CreatedAt = Timestamp.FromDateTimeOffset(token.CreatedAt),
            ExpiresAt = token.ExpiresAt is { } expiresAt ? Timestamp.FromDateTimeOffset(expiresAt) : null,
        };
    }

    private static Guid TokenId(string id) => Guid.TryParse(id, out var parsed) ? parsed : throw UnknownToken(id);

    private static RpcException UnknownToken(string id) => AdminErrors.NotFound($"No live token with id '{(id.Length <= 60 ? id : id[..60] + "…")}'.", "id");

    /// <inheritdoc />
    /// <remarks>
    /// The admin key and admin users administer every team (no teams in the reply); a user with the
    /// team-admin flag gets the teams they administer, to which the router binds their analytics.
    /// </remarks>
    public override async Task<AuthorizeAdminReply> AuthorizeAdmin(AuthorizeAdminRequest request, ServerCallContext context)
    {
        var teams = await authenticator.AdministeredTeamsAsync(context);
        return new AuthorizeAdminReply { Team = teams.Count > 0 ? teams[0] : "", Teams = { teams } };
    }
}

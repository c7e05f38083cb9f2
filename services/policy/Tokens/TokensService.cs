using Gateway.Aspire.Policy.Grpc;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Npgsql;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>
/// Token administration over gRPC. Every call needs the admin key; the secret of a new token is in
/// the reply and nowhere else (only its SHA-256 is stored).
/// </summary>
public sealed class TokensService(
    AdminKeyAuthenticator authenticator, TokenRepository repository, TimeProvider time, ILogger<TokensService> logger)
    : Grpc.Tokens.TokensBase
{
    /// <summary>The kind of every token this service issues today.</summary>
    public const string VirtualAccountKind = "virtual-account";

    /// <inheritdoc />
    public override async Task<CreateTokenReply> CreateToken(CreateTokenRequest request, ServerCallContext context)
    {
        authenticator.Authenticate(context);

        var now = time.GetUtcNow();
        var valid = CreateTokenValidator.Validate(request, now, out var error)
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, error!));

        var secret = TokenSecret.Generate();
        // Microsecond precision: what PostgreSQL stores, so the reply equals what is read back later.
        var createdAt = new DateTimeOffset(now.UtcTicks - now.UtcTicks % 10, TimeSpan.Zero);
        var token = new StoredToken(
            Guid.CreateVersion7(now), valid.Name, VirtualAccountKind, TokenSecret.DisplayPrefix(secret),
            TokenSecret.Hash(secret), valid.Models, createdAt, valid.ExpiresAt);

        try
        {
            await repository.InsertAsync(token, context.CancellationToken);
        }
        catch (NpgsqlException e) when (e is not PostgresException || e.IsTransient)
        {
            PolicyLog.PostgresUnavailable(logger, e.Message);
            throw new RpcException(new Status(StatusCode.Unavailable, "The token store is unavailable; retry shortly."));
        }

        PolicyLog.TokenCreated(logger, token.Id, token.Name, token.Prefix, token.Models.Count, token.ExpiresAt);

        var reply = new CreateTokenReply
        {
            Id = token.Id.ToString(),
            Name = token.Name,
            Token = secret,
            CreatedAt = Timestamp.FromDateTimeOffset(createdAt),
            ExpiresAt = token.ExpiresAt is { } expiresAt ? Timestamp.FromDateTimeOffset(expiresAt) : null,
        };
        reply.Models.AddRange(token.Models);
        return reply;
    }

    /// <inheritdoc />
    /// <remarks>The admin key administers every team; team admins (bound to their team here) come with admin users.</remarks>
    public override Task<AuthorizeAdminReply> AuthorizeAdmin(AuthorizeAdminRequest request, ServerCallContext context)
    {
        authenticator.Authenticate(context);
        return Task.FromResult(new AuthorizeAdminReply { Team = "" });
    }
}

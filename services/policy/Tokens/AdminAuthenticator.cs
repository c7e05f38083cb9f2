using System.Security.Cryptography;
using System.Text;
using Gateway.Aspire.Policy.Admission;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>
/// Checks the <c>authorization: Bearer &lt;credential&gt;</c> metadata of admin calls. Two
/// credentials are admins: the bootstrap <c>GATEWAY_ADMIN_KEY</c>, and the personal token of a
/// user with <c>admin</c> set. The admin key is compared as SHA-256 digests in constant time, so
/// neither its length nor its content leaks through timing; tokens are found by their hash, so no
/// secret is ever compared character by character.
/// </summary>
public sealed class AdminAuthenticator(
    IOptions<AdminKeyOptions> options, TokenLookup lookup, TimeProvider time, ILogger<AdminAuthenticator> logger)
{
    private readonly byte[]? _adminKeyHash = string.IsNullOrEmpty(options.Value.AdminKey)
        ? null
        : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.AdminKey));

    /// <summary>How the admin key appears as the actor of a change (e.g. in the configuration history).</summary>
    public const string AdminKeyActor = "admin-key";

    /// <summary>
    /// Returns who is calling (<c>user:&lt;name&gt;</c> for an admin user's token,
    /// <see cref="AdminKeyActor"/> for the admin key) when the call carries an admin credential; otherwise throws <see cref="RpcException"/>:
    /// <see cref="StatusCode.Unauthenticated"/> when it is missing or invalid (or is a key while none
    /// is configured), <see cref="StatusCode.PermissionDenied"/> for a valid token that is not an admin's.
    /// </summary>
    public async ValueTask<string> AuthenticateAsync(ServerCallContext context) => (await CheckAsync(context, allowTeamAdmins: false)).Actor;

    /// <summary>
    /// As <see cref="AuthenticateAsync(ServerCallContext)"/>, but a team admin's personal token (a
    /// user with the team-admin flag in some team, not a gateway admin) passes too: returns the teams
    /// the caller administers, sorted, or none for a gateway admin (every team).
    /// </summary>
    public async ValueTask<IReadOnlyList<string>> AdministeredTeamsAsync(ServerCallContext context) => (await CheckAsync(context, allowTeamAdmins: true)).Teams;

    private async ValueTask<(string Actor, IReadOnlyList<string> Teams)> CheckAsync(ServerCallContext context, bool allowTeamAdmins)
    {
        var presented = BearerValue(context.RequestHeaders.GetValue("authorization"));
        if (presented is null)
        {
            PolicyLog.AdminKeyMissing(logger, context.Method);
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                "Missing admin credential: send 'Authorization: Bearer <GATEWAY_ADMIN_KEY>' or an admin's personal token."));
        }

        // A token-shaped credential that is no token may still be an admin key chosen in that shape.
        if (TokenSecret.IsWellFormed(presented)
            && await lookup.FindAsync(TokenSecret.Hash(presented), context.CancellationToken) is { } record)
        {
            if (record.IsExpiredAt(time.GetUtcNow()))
            {
                PolicyLog.AdminKeyRejected(logger, context.Method);
                throw new RpcException(new Status(StatusCode.Unauthenticated, "Invalid admin credential: the token has expired."));
            }

            if (!record.IsAdmin && allowTeamAdmins && record.AdminOfTeams.Count > 0)
            {
                return ("user:" + (record.User ?? record.Name), record.AdminOfTeams);
            }

            if (!record.IsAdmin)
            {
                PolicyLog.AdminPermissionDenied(logger, context.Method, record.Id);
                throw new RpcException(new Status(StatusCode.PermissionDenied,
                    "This token is not an admin's: the admin API needs GATEWAY_ADMIN_KEY or a personal token of a user with admin=true."));
            }

            return ("user:" + (record.User ?? record.Name), []);
        }

        if (_adminKeyHash is null)
        {
            PolicyLog.AdminKeyRejected(logger, context.Method);
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                "Invalid admin credential: not a live token, and no GATEWAY_ADMIN_KEY is configured (only personal tokens of admin users are accepted)."));
        }

        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), presentedHash);
        if (!CryptographicOperations.FixedTimeEquals(presentedHash, _adminKeyHash))
        {
            PolicyLog.AdminKeyRejected(logger, context.Method);
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Invalid admin credential: neither the admin key nor a live token."));
        }

        return (AdminKeyActor, []);
    }

    private static string? BearerValue(string? header)
    {
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var value = header[scheme.Length..].Trim();
        return value.Length == 0 ? null : value;
    }
}

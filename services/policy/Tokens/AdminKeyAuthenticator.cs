using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>
/// Checks the <c>authorization: Bearer &lt;admin key&gt;</c> metadata of admin calls. Compares
/// SHA-256 digests in constant time, so neither the key's length nor its content leaks through timing.
/// </summary>
public sealed partial class AdminKeyAuthenticator(IOptions<AdminKeyOptions> options, ILogger<AdminKeyAuthenticator> logger)
{
    private readonly byte[]? _adminKeyHash = string.IsNullOrEmpty(options.Value.AdminKey)
        ? null
        : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.AdminKey));

    /// <summary>
    /// Returns when the call carries the admin key; otherwise throws <see cref="RpcException"/>:
    /// <see cref="StatusCode.FailedPrecondition"/> when no admin key is configured,
    /// <see cref="StatusCode.Unauthenticated"/> when it is missing or wrong.
    /// </summary>
    public void Authenticate(ServerCallContext context)
    {
        if (_adminKeyHash is null)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "admin API disabled: set GATEWAY_ADMIN_KEY"));
        }

        var presented = BearerValue(context.RequestHeaders.GetValue("authorization"));
        if (presented is null)
        {
            PolicyLog.AdminKeyMissing(logger, context.Method);
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing admin key: send 'authorization: Bearer <GATEWAY_ADMIN_KEY>'."));
        }

        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), presentedHash);
        if (!CryptographicOperations.FixedTimeEquals(presentedHash, _adminKeyHash))
        {
            PolicyLog.AdminKeyRejected(logger, context.Method);
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Invalid admin key."));
        }
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

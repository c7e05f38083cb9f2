using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace Gateway.Aspire.AppHost;

/// <summary>The bootstrap admin key handed to the router and policy.</summary>
internal static class AdminKey
{
    /// <summary>
    /// <c>GATEWAY_ADMIN_KEY</c> when set; otherwise a new random key for this run, printed once so
    /// the developer can create tokens. It is never written to disk.
    /// </summary>
    public static string FromConfigurationOrNew(IConfiguration configuration, TextWriter output)
    {
        if (configuration["GATEWAY_ADMIN_KEY"] is { Length: > 0 } configured)
        {
            return configured;
        }

        var key = "gw-admin-" + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        output.WriteLine();
        output.WriteLine($"  Admin key for this run: {key}");
        output.WriteLine("  (generated because GATEWAY_ADMIN_KEY is not set; use it as the bearer key of /admin/v1/*)");
        output.WriteLine();
        return key;
    }

    internal static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

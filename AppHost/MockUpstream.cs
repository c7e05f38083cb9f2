using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace Gateway.Aspire.AppHost;

/// <summary>Settings of the bundled mock upstream (tools/MockUpstream).</summary>
internal static class MockUpstream
{
    /// <summary>The port the default gateway.yaml points at.</summary>
    public const int DefaultPort = 9100;

    /// <summary><c>--mock-upstream-port</c>, else 9100.</summary>
    public static int Port(IConfiguration configuration)
    {
        var text = configuration["mock-upstream-port"];
        if (text is null)
        {
            return DefaultPort;
        }

        return int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new InvalidOperationException($"The mock upstream port '{text}' (--mock-upstream-port) is not a TCP port number (1-65535).");
    }

    /// <summary><c>MOCK_API_KEY</c> when set, else a random key for this run (the mock then checks it like a real provider).</summary>
    public static string ApiKey(IConfiguration configuration) =>
        configuration["MOCK_API_KEY"] is { Length: > 0 } key ? key : "mock-" + AdminKey.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));
}

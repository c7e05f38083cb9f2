using Microsoft.Extensions.Configuration;

namespace Gateway.Aspire.AppHost;

/// <summary>The router's public port.</summary>
internal static class GatewayPort
{
    /// <summary>Default port of the router.</summary>
    public const int Default = 8080;

    /// <summary>
    /// <c>--port</c>, else <c>GATEWAY_PORT</c>, else 8080; 0 means a free port chosen when the router
    /// starts (null: what tests use, so no port is held between choosing it and listening on it).
    /// </summary>
    public static int? FromConfiguration(IConfiguration configuration)
    {
        var text = configuration["port"] ?? configuration["GATEWAY_PORT"];
        if (text is null)
        {
            return Default;
        }

        return int.TryParse(text, out var port) && port is >= 0 and < 65536
            ? (port == 0 ? null : port)
            : throw new InvalidOperationException($"The router port '{text}' (--port or GATEWAY_PORT) is not a TCP port number (1-65535, or 0 for a free one).");
    }
}

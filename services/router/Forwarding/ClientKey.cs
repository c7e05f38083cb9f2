namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// Reads the caller's gateway key: <c>Authorization: Bearer &lt;token&gt;</c> (OpenAI SDKs), else
/// <c>x-api-key</c> (Anthropic SDKs, which send their key there on every endpoint).
/// </summary>
internal static class ClientKey
{
    /// <summary>The token, or null when neither header carries one.</summary>
    public static string? From(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7)
        {
            return header[7..].Trim();
        }

        var apiKey = request.Headers["x-api-key"].ToString().Trim();
        return apiKey.Length > 0 ? apiKey : null;
    }
}

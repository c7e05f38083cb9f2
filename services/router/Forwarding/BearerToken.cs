namespace Gateway.Aspire.Router.Forwarding;

/// <summary>Reads <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
internal static class BearerToken
{
    /// <summary>The token, or null when the header is missing or not a bearer token.</summary>
    public static string? From(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7
            ? header[7..].Trim()
            : null;
    }
}

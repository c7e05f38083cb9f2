using System.Text.Json.Serialization;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>What admission needs to know about a live (not revoked) token.</summary>
/// <param name="Id">The token's id.</param>
/// <param name="Name">Its display name.</param>
/// <param name="Models"><c>&lt;account&gt;/&lt;model&gt;</c> names it may call; empty means every model.</param>
/// <param name="ExpiresAt">When it stops working, or null for never.</param>
public sealed record TokenRecord(
    [property: JsonPropertyName("i")] Guid Id,
    [property: JsonPropertyName("n")] string Name,
    [property: JsonPropertyName("m")] IReadOnlyList<string> Models,
    [property: JsonPropertyName("e")] DateTimeOffset? ExpiresAt)
{
    /// <summary>Whether the token has expired at <paramref name="now"/>.</summary>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt is { } expiresAt && expiresAt <= now;

    /// <summary>Whether the token may call <paramref name="model"/>.</summary>
    public bool Allows(string model)
    {
        if (Models.Count == 0)
        {
            return true;
        }

        foreach (var allowed in Models)
        {
            if (string.Equals(allowed, model, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Source-generated JSON for the compact token records cached in Redis (short property names:
/// thousands of keys, each read on a cache miss of any replica).
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TokenRecord))]
internal sealed partial class PolicyJsonContext : JsonSerializerContext;

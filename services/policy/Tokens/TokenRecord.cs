using System.Text.Json.Serialization;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>The two kinds of tokens, as stored and as the admin API names them.</summary>
public static class TokenKinds
{
    /// <summary>An application identity's token: only its virtual account's models.</summary>
    public const string VirtualAccount = "virtual-account";

    /// <summary>A user's token: the user's model access.</summary>
    public const string Personal = "personal";
}

/// <summary>What admission needs to know about a live (not revoked) token, resolved to its identity.</summary>
/// <param name="Id">The token's id.</param>
/// <param name="Name">Its display name.</param>
/// <param name="Models"><c>&lt;account&gt;/&lt;model&gt;</c> names it may call now; empty means every model.</param>
/// <param name="ExpiresAt">When it stops working, or null for never.</param>
/// <remarks>
/// Cached in Redis and in memory; anything that changes the resolution (revocation, rotation,
/// membership, deleted identities) invalidates it through <see cref="Admission.TokenInvalidation"/>.
/// The identity properties are optional in JSON so entries written before identities existed still read.
/// </remarks>
public sealed record TokenRecord(
    [property: JsonPropertyName("i")] Guid Id,
    [property: JsonPropertyName("n")] string Name,
    [property: JsonPropertyName("m")] IReadOnlyList<string> Models,
    [property: JsonPropertyName("e")] DateTimeOffset? ExpiresAt)
{
    /// <summary><see cref="TokenKinds.VirtualAccount"/> (default) or <see cref="TokenKinds.Personal"/>.</summary>
    [JsonPropertyName("k")]
    public string Kind { get; init; } = TokenKinds.VirtualAccount;

    /// <summary>A personal token's user; null otherwise.</summary>
    [JsonPropertyName("u")]
    public string? User { get; init; }

    /// <summary>The user's teams (by name, sorted), or the virtual account's owning team. Default: none.</summary>
    [JsonPropertyName("t")]
    public IReadOnlyList<string> Teams { get; init; } = [];

    /// <summary>The virtual account; a token without one (issued before identities) is its own, named after the token.</summary>
    [JsonPropertyName("v")]
    public string? VirtualAccount { get; init; }

    /// <summary>Whether the token is a personal token of a gateway admin. Default: false.</summary>
    [JsonPropertyName("a")]
    public bool IsAdmin { get; init; }

    /// <summary>The teams whose admin a personal token's user is (by name, sorted). Default: none.</summary>
    [JsonPropertyName("ta")]
    public IReadOnlyList<string> AdminOfTeams { get; init; } = [];

    /// <summary>Whether the token has expired at <paramref name="now"/>.</summary>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt is { } expiresAt && expiresAt <= now;

    /// <summary>The virtual account rules see: its own, or the token's name for tokens issued before identities; null for personal tokens.</summary>
    public string? VirtualAccountName => Kind == TokenKinds.Personal ? null : VirtualAccount ?? Name;

    /// <summary>
    /// The subjects rules match: <c>user:&lt;user&gt;</c> and <c>team:&lt;team&gt;</c> for each of the
    /// user's teams (personal), or <c>virtualaccount:&lt;name&gt;</c> and <c>team:&lt;owner&gt;</c>.
    /// </summary>
    public IReadOnlyList<string> Subjects()
    {
        var subjects = new List<string>(Teams.Count + 1)
        {
            VirtualAccountName is { } account ? "virtualaccount:" + account : "user:" + User,
        };
        foreach (var team in Teams)
        {
            subjects.Add("team:" + team);
        }

        return subjects;
    }

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
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class PolicyJsonContext : JsonSerializerContext;

using System.Text.Json;

namespace Gateway.Aspire.Router.RateLimiting;

/// <summary>
/// The caller's <c>x-gateway-metadata</c> header: a flat JSON object of string values, e.g.
/// <c>{"project":"x","environment":"prod"}</c>. It feeds rule matching and <c>*_applies_per</c> in policy.
/// </summary>
internal static class GatewayMetadata
{
    /// <summary>The header's name.</summary>
    public const string HeaderName = "x-gateway-metadata";

    /// <summary>Most keys accepted: metadata keys counters and ledger rows, so it stays small.</summary>
    public const int MaxEntries = 32;

    /// <summary>Longest key or value, in characters.</summary>
    public const int MaxLength = 256;

    /// <summary>Parses <paramref name="header"/> (empty: no metadata); on failure <paramref name="error"/> says why, for a 400.</summary>
    public static bool TryParse(string header, out Dictionary<string, string> metadata, out string error)
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        error = "";
        if (string.IsNullOrWhiteSpace(header))
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(header), new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"The {HeaderName} header must be a JSON object of string values, e.g. {{\"project\":\"x\"}}.";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = $"The {HeaderName} header: the value of '{Shorten(key)}' must be a string.";
                    return false;
                }

                var value = reader.GetString()!;
                if (key.Length == 0 || key.Length > MaxLength || value.Length > MaxLength)
                {
                    error = $"The {HeaderName} header: keys must be 1 to {MaxLength} characters and values at most {MaxLength}.";
                    return false;
                }

                if (!metadata.TryAdd(key, value) || metadata.Count > MaxEntries)
                {
                    error = metadata.Count > MaxEntries
                        ? $"The {HeaderName} header has more than {MaxEntries} keys."
                        : $"The {HeaderName} header gives '{Shorten(key)}' twice.";
                    return false;
                }
            }

            while (reader.Read())
            {
                // Trailing content after the object makes Read throw.
            }

            return true;
        }
        catch (JsonException)
        {
            error = $"The {HeaderName} header is not valid JSON; send a JSON object of string values, e.g. {{\"project\":\"x\"}}.";
            return false;
        }
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}

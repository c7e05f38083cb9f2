using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Errors;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>What the client gets for a failed upstream call.</summary>
internal readonly record struct MappedError(int Status, string ErrorType, byte[] Body);

/// <summary>
/// Maps upstream failures to client answers: 429 stays 429 (its Retry-After is passed on by the
/// caller), other 4xx keep their status and the upstream's OpenAI-style body, 5xx become 502,
/// unreachable is 502 and a timeout 504.
/// </summary>
/// <remarks>
/// Upstream 401/403 are the exception: they mean the gateway's provider key is wrong, not the
/// client's, so relaying them would tell a client with a good key that its key is bad. They become
/// 502 naming the account, for the platform team to fix.
/// </remarks>
internal static class UpstreamErrors
{
    /// <summary>Maps an upstream error status and body.</summary>
    public static MappedError FromStatus(HttpStatusCode status, string? mediaType, ReadOnlySpan<byte> body, string account)
    {
        var code = (int)status;
        if (code is 401 or 403)
        {
            return Error(502, $"The upstream provider of account '{account}' rejected the gateway's credentials ({code}); check the account's api_key.", "upstream_auth_failed");
        }

        if (code is >= 400 and < 500)
        {
            if (IsOpenAiError(mediaType, body))
            {
                return new MappedError(code, code == 429 ? OpenAiError.RateLimit : OpenAiError.Upstream, body.ToArray());
            }

            return code == 429
                ? new MappedError(429, OpenAiError.RateLimit, OpenAiError.Serialize(OpenAiError.RateLimit, "upstream_rate_limited", $"The upstream provider of account '{account}' is rate limiting; retry later."))
                : Error(code, $"The upstream provider answered {code}.", $"upstream_status_{code}");
        }

        return Error(502, $"The upstream provider answered {code}.", $"upstream_status_{code}");
    }

    /// <summary>The upstream could not be reached (connection refused, DNS, TLS, reset).</summary>
    public static MappedError Unreachable(string account) =>
        Error(502, $"The upstream provider of account '{account}' could not be reached.", "upstream_unreachable");

    /// <summary>The upstream did not answer in time.</summary>
    public static MappedError Timeout(string account) =>
        Error(504, $"The upstream provider of account '{account}' did not answer in time.", "upstream_timeout");

    private static MappedError Error(int status, string message, string code) =>
        new(status, OpenAiError.Upstream, OpenAiError.Serialize(OpenAiError.Upstream, code, message));

    /// <summary>A JSON object with an <c>error</c> member: safe to relay as it is.</summary>
    private static bool IsOpenAiError(string? mediaType, ReadOnlySpan<byte> body)
    {
        if (mediaType is null || !mediaType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var hasError = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                hasError |= reader.ValueTextEquals("error"u8);
                reader.Read();
                reader.Skip();
            }

            return hasError;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>What the client gets for a failed upstream call.</summary>
internal readonly record struct MappedError(int Status, string ErrorType, byte[] Body);

/// <summary>
/// Maps upstream failures to client answers: 429 stays 429 (its Retry-After is passed on by the
/// caller), other 4xx keep their status and the upstream's message, 503 and Anthropic's 529
/// (overloaded) become 503, 504 stays 504, other 5xx become 502, unreachable is 502 and a timeout 504.
/// An OpenAI-format error body is relayed as it is; Anthropic's and Gemini's are re-rendered in
/// OpenAI's shape with their message kept.
/// </summary>
/// <remarks>
/// Upstream 401/403 are the exception: they mean the gateway's provider key is wrong, not the
/// client's, so relaying them would tell a client with a good key that its key is bad. They become
/// 502 naming the account, for the platform team to fix. Gemini reports a bad key as 400 with the
/// reason <c>API_KEY_INVALID</c>, which is treated the same way.
/// </remarks>
internal static class UpstreamErrors
{
    /// <summary>Maps an upstream error status and body in the provider's <paramref name="format"/>.</summary>
    public static MappedError FromStatus(HttpStatusCode status, string? mediaType, ReadOnlySpan<byte> body, string account, WireFormat format = WireFormat.OpenAi)
    {
        var code = (int)status;
        if (code is 401 or 403 || (format == WireFormat.Gemini && code == 400 && body.IndexOf("API_KEY_INVALID"u8) >= 0))
        {
            return Error(502, $"The upstream provider of account '{account}' rejected the gateway's credentials ({code}); check the account's api_key.", "upstream_auth_failed");
        }

        if (format == WireFormat.OpenAi && code is >= 400 and < 500 && IsOpenAiError(mediaType, body))
        {
            return new MappedError(code, code == 429 ? OpenAiError.RateLimit : OpenAiError.Upstream, body.ToArray());
        }

        var (_, upstreamMessage) = FormatBridge.ReadError(format, body);
        var said = string.IsNullOrWhiteSpace(upstreamMessage) ? "" : $": {upstreamMessage}";
        return code switch
        {
            429 => new MappedError(429, OpenAiError.RateLimit, OpenAiError.Serialize(OpenAiError.RateLimit, "upstream_rate_limited",
                $"The upstream provider of account '{account}' is rate limiting; retry later{said}")),
            >= 400 and < 500 => new MappedError(code, code == 404 ? OpenAiError.InvalidRequest : OpenAiError.Upstream, OpenAiError.Serialize(
                code == 404 ? OpenAiError.InvalidRequest : OpenAiError.Upstream, $"upstream_status_{code}", $"The upstream provider of account '{account}' answered {code}{said}")),
            503 or 529 => Error(503, $"The upstream provider of account '{account}' is overloaded ({code}); retry shortly{said}", "upstream_overloaded"),
            504 => Error(504, $"The upstream provider of account '{account}' timed out (504){said}", "upstream_timeout"),
            _ => Error(502, $"The upstream provider of account '{account}' answered {code}{said}", $"upstream_status_{code}"),
        };
    }

    /// <summary>The upstream could not be reached (connection refused, DNS, TLS, reset).</summary>
    public static MappedError Unreachable(string account) =>
        Error(502, $"The upstream provider of account '{account}' could not be reached.", "upstream_unreachable");

    /// <summary>The upstream answered 2xx with a body its API does not document (it cannot be translated).</summary>
    public static MappedError InvalidBody(string account) =>
        Error(502, $"The upstream provider of account '{account}' sent an answer the gateway could not read.", "upstream_invalid_response");

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

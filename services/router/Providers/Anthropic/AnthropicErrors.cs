using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>Reads Anthropic's error bodies: <c>{"type":"error","error":{"type":"...","message":"..."},"request_id":"..."}</c>.</summary>
internal static class AnthropicErrors
{
    /// <summary>Longest part of a non-Anthropic body quoted in the message (a proxy's HTML page can be long).</summary>
    internal const int MaxQuotedChars = 300;

    /// <summary>Anthropic's catch-all error type, used when the body names none.</summary>
    internal const string DefaultType = "api_error";

    /// <summary>
    /// The error's type (e.g. <c>invalid_request_error</c>, <c>overloaded_error</c>) and message.
    /// A body in another shape (a proxy's page, an empty body) gives <see cref="DefaultType"/> and
    /// a message quoting the start of the body.
    /// </summary>
    public static (string Type, string Message) Read(ReadOnlySpan<byte> body)
    {
        using var document = AnthropicJson.TryParse(body);
        if (document is not null && AnthropicJson.Get(document.RootElement, "error") is { } error)
        {
            if (error.ValueKind == JsonValueKind.String)
            {
                return (DefaultType, error.GetString()!);
            }

            var type = AnthropicJson.String(error, "type") ?? DefaultType;
            return (type, AnthropicJson.String(error, "message") ?? $"The Anthropic API reported a {type} without a message.");
        }

        // Only the start is quoted, so only the start is decoded (a cut UTF-8 sequence becomes U+FFFD).
        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, MaxQuotedChars * 4)]).Trim();
        if (text.Length == 0)
        {
            return (DefaultType, "The Anthropic API answered with an empty error body.");
        }

        var quoted = text.Length > MaxQuotedChars ? string.Concat(text.AsSpan(0, MaxQuotedChars), "…") : text;
        return (DefaultType, $"The Anthropic API answered with an error body not in its error format: {quoted}");
    }
}

using System.Buffers;
using System.Text.Json;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Messages;

/// <summary>
/// Errors in Anthropic's shape, <c>{"type":"error","error":{"type","message"}}</c>, for clients of
/// the gateway's <c>/v1/messages</c>. The Anthropic SDKs pick their exception class from the HTTP
/// status and read <c>error.type</c> and <c>error.message</c> from this body.
/// </summary>
internal static class AnthropicErrorBody
{
    /// <summary>The fallback type: Anthropic's "unexpected error internal to the service".</summary>
    public const string ApiError = "api_error";

    /// <summary>
    /// Anthropic's error <c>type</c> for an HTTP status, as its "Errors" reference lists them
    /// (400 invalid_request_error, 401 authentication_error, 402 billing_error, 403
    /// permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error, 500
    /// api_error, 504 timeout_error, 529 overloaded_error). Other 4xx are invalid_request_error,
    /// as Anthropic says it does; 503 is overloaded_error, the nearest meaning; other 5xx api_error.
    /// </summary>
    public static string TypeFor(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 or 529 => "overloaded_error",
        504 => "timeout_error",
        >= 400 and < 500 => "invalid_request_error",
        _ => ApiError,
    };

    /// <summary>The body of an error answered with <paramref name="status"/>.</summary>
    public static byte[] Serialize(int status, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + message.Length);
        using (var json = new Utf8JsonWriter(buffer, SseEventWriter.JsonOptions))
        {
            Write(json, TypeFor(status), message);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Re-renders an OpenAI-style error body (the router's own or an upstream's relayed one) in
    /// Anthropic's shape, keeping its message; the type follows <paramref name="status"/>.
    /// </summary>
    /// <remarks>
    /// Reads <c>{"error":{"message":...}}</c> and the <c>{"error":"..."}</c> some OpenAI-compatible
    /// servers (Ollama among them) send; anything else gets a message naming the status.
    /// </remarks>
    public static byte[] FromOpenAiError(int status, ReadOnlySpan<byte> openAiErrorBody) =>
        Serialize(status, ReadOpenAiMessage(openAiErrorBody) ?? $"The request failed with status {status}.");

    /// <summary>Writes the error object (also the data of a stream's <c>event: error</c>).</summary>
    public static void Write(Utf8JsonWriter json, string type, string message)
    {
        json.WriteStartObject();
        json.WriteString("type"u8, "error"u8);
        json.WriteStartObject("error"u8);
        json.WriteString("type"u8, type);
        json.WriteString("message"u8, message);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The message of an OpenAI error envelope, or null when the body has none.</summary>
    internal static string? ReadOpenAiMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            return MessageOf(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The message of a parsed OpenAI error envelope, or null when it has none.</summary>
    internal static string? MessageOf(JsonElement envelope)
    {
        if (envelope.ValueKind != JsonValueKind.Object || !envelope.TryGetProperty("error"u8, out var error))
        {
            return null;
        }

        if (error.ValueKind == JsonValueKind.String)
        {
            return NonEmpty(error.GetString());
        }

        return error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message"u8, out var message) && message.ValueKind == JsonValueKind.String
            ? NonEmpty(message.GetString())
            : null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

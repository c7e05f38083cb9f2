using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.Router.Providers.Gemini;

/// <summary>
/// Reads Gemini's error bodies, Google's standard error model:
/// <c>{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT","details":[...]}}</c>.
/// The streaming endpoint may wrap it in an array (<c>[{"error":{...}}]</c>), the way it wraps
/// its responses when called without <c>alt=sse</c>.
/// </summary>
internal static class GeminiErrors
{
    /// <summary>How much of a body that is not Google's error JSON is quoted in the message.</summary>
    private const int MaxQuotedChars = 500;

    /// <summary>
    /// The error's <c>status</c> (a google.rpc.Code name such as <c>RESOURCE_EXHAUSTED</c>) and
    /// <c>message</c>. Never throws: without a <c>status</c> the name is derived from <c>code</c>,
    /// else <c>UNKNOWN</c>; a body that is not Google's error JSON is quoted (trimmed) as the message.
    /// </summary>
    public static (string Status, string Message) Read(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (TryRead(document.RootElement, out var status, out var message))
            {
                return (status, message);
            }
        }
        catch (JsonException)
        {
            // Not JSON (an HTML page from a proxy, a truncated body): quote it below.
        }

        var text = Encoding.UTF8.GetString(body).Trim();
        return ("UNKNOWN", text.Length == 0 ? "The Gemini API answered with an error and no details."
            : text.Length > MaxQuotedChars ? text[..MaxQuotedChars] + "…"
            : text);
    }

    /// <summary>
    /// The retry hint of a 429: Gemini gives none as a header, only as a <c>google.rpc.RetryInfo</c>
    /// detail (<c>"retryDelay": "17s"</c>); null when the body has none.
    /// </summary>
    public static TimeSpan? RetryDelay(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.GetArrayLength() > 0 ? document.RootElement[0] : document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error"u8, out var error) || error.ValueKind != JsonValueKind.Object
                || !error.TryGetProperty("details"u8, out var details) || details.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var detail in details.EnumerateArray())
            {
                if (detail.ValueKind == JsonValueKind.Object && detail.TryGetProperty("retryDelay"u8, out var delay) && delay.ValueKind == JsonValueKind.String
                    && delay.GetString() is { Length: > 1 } text && text.EndsWith('s')
                    && double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
                {
                    return TimeSpan.FromSeconds(seconds);
                }
            }
        }
        catch (JsonException)
        {
            // No hint in a body that is not JSON.
        }

        return null;
    }

    /// <summary>Reads an already parsed body; false when it holds no <c>error</c> object.</summary>
    public static bool TryRead(JsonElement root, out string status, out string message)
    {
        if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
        {
            root = root[0];
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error"u8, out var error) || error.ValueKind != JsonValueKind.Object)
        {
            status = message = "";
            return false;
        }

        int? code = error.TryGetProperty("code"u8, out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var n) ? n : null;
        status = error.TryGetProperty("status"u8, out var s) && s.ValueKind == JsonValueKind.String && s.GetString() is { Length: > 0 } named
            ? named
            : StatusOf(code);
        message = error.TryGetProperty("message"u8, out var m) && m.ValueKind == JsonValueKind.String && m.GetString() is { Length: > 0 } text
            ? text
            : $"The Gemini API answered {status}{(code is null ? "" : $" ({code})")} without a message.";
        return true;
    }

    /// <summary>The google.rpc.Code name Google's HTTP mapping gives a status code.</summary>
    private static string StatusOf(int? httpCode) => httpCode switch
    {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    };
}

using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.Router.Providers.Gemini;

/// <summary>
/// Reads the candidates of a Gemini GenerateContentResponse (whole or one streamed piece) into what
/// an OpenAI choice needs: answer text, function calls written as OpenAI <c>tool_calls</c>, and the
/// finish reason. Shared by <see cref="GeminiResponseTranslator"/> and <see cref="GeminiStreamTranslator"/>.
/// </summary>
/// <remarks>Every unexpected shape is the upstream's fault and raises <see cref="InvalidDataException"/> (the router answers 502).</remarks>
internal static class GeminiCandidates
{
    /// <summary>The response's <c>candidates</c>; empty when there are none (a blocked prompt, a usage-only stream piece).</summary>
    public static JsonElement.ArrayEnumerator Of(JsonElement response) =>
        ArrayOrEmpty(response, "candidates"u8, "candidates");

    /// <summary>The candidate's <c>index</c>, or its position in <c>candidates</c> when Gemini left it out (proto3 omits index 0).</summary>
    public static int IndexOf(JsonElement candidate, int position)
    {
        RequireObject(candidate, "candidates[]");
        if (!candidate.TryGetProperty("index"u8, out var index) || index.ValueKind == JsonValueKind.Null)
        {
            return position;
        }

        return index.ValueKind == JsonValueKind.Number && index.TryGetInt32(out var value) && value >= 0
            ? value
            : throw new InvalidDataException("Gemini's candidate index is not a non-negative integer.");
    }

    /// <summary>
    /// Appends the candidate's answer text to <paramref name="text"/> and collects its
    /// <c>functionCall</c> parts. Thought parts (<c>thought: true</c>, thinking summaries) are
    /// skipped: OpenAI's <c>content</c> carries only the answer.
    /// </summary>
    /// <returns>True when the candidate had at least one answer text part (possibly empty).</returns>
    public static bool ReadParts(JsonElement candidate, StringBuilder text, List<JsonElement> functionCallParts)
    {
        if (!candidate.TryGetProperty("content"u8, out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return false; // e.g. a candidate stopped for SAFETY before producing anything
        }

        RequireObject(content, "candidate content");
        var hasText = false;
        foreach (var part in ArrayOrEmpty(content, "parts"u8, "content.parts"))
        {
            RequireObject(part, "content.parts[]");
            if (part.TryGetProperty("thought"u8, out var thought) && thought.ValueKind == JsonValueKind.True)
            {
                continue;
            }

            if (part.TryGetProperty("text"u8, out var partText))
            {
                text.Append(StringOrThrow(partText, "part text"));
                hasText = true;
            }
            else if (part.TryGetProperty("functionCall"u8, out var call))
            {
                RequireObject(call, "functionCall");
                functionCallParts.Add(part);
            }

            // inlineData (generated images/audio), executableCode and codeExecutionResult have no
            // place in a chat completion message; the gateway enables none of the features making them.
        }

        return hasText;
    }

    /// <summary>The candidate's <c>finishReason</c>, or null while it is still generating (streams).</summary>
    public static string? FinishReasonOf(JsonElement candidate) =>
        candidate.TryGetProperty("finishReason"u8, out var reason) && reason.ValueKind != JsonValueKind.Null
            ? StringOrThrow(reason, "finishReason")
            : null;

    /// <summary>
    /// Maps a Gemini <c>FinishReason</c> to OpenAI's <c>finish_reason</c>: a natural stop with
    /// function calls is <c>tool_calls</c>, the token limit is <c>length</c>, every block for
    /// safety, recitation, blocklists, prohibited content or personal data is <c>content_filter</c>,
    /// and the rest (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...) is <c>stop</c>.
    /// </summary>
    public static string ToOpenAiFinishReason(string? reason, bool hasToolCalls) => reason switch
    {
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY"
            or "IMAGE_PROHIBITED_CONTENT" or "IMAGE_RECITATION" => "content_filter",
        _ when hasToolCalls => "tool_calls",
        _ => "stop",
    };

    /// <summary>
    /// Writes one OpenAI tool call, <c>{index?, id, type, function: {name, arguments}}</c>, for a
    /// part holding a <c>functionCall</c>. <c>arguments</c> is the JSON text of Gemini's <c>args</c>
    /// object (Gemini sends whole calls, never partial arguments).
    /// </summary>
    /// <remarks>
    /// Gemini gives calls an <c>id</c> only sometimes; without one a unique <c>call_…</c> id is made
    /// up, since clients match tool results to calls by id across the whole conversation. A
    /// <c>thoughtSignature</c> travels in <c>extra_content.google.thought_signature</c>, the field
    /// Google's own OpenAI-compatible endpoint uses, so that a client sending the call back returns
    /// it (Gemini 3 rejects function-call history without its signatures).
    /// </remarks>
    public static void WriteToolCall(Utf8JsonWriter json, JsonElement part, int? index)
    {
        var call = part.GetProperty("functionCall"u8);
        json.WriteStartObject();
        if (index is { } i)
        {
            json.WriteNumber("index"u8, i);
        }

        var id = call.TryGetProperty("id"u8, out var callId) && callId.ValueKind == JsonValueKind.String && callId.GetString() is { Length: > 0 } given
            ? given
            : NewToolCallId();
        json.WriteString("id"u8, id);
        json.WriteString("type"u8, "function"u8);
        json.WriteStartObject("function"u8);
        json.WriteString("name"u8, call.TryGetProperty("name"u8, out var name) ? StringOrThrow(name, "functionCall.name") : throw new InvalidDataException("Gemini sent a functionCall without a name."));
        if (call.TryGetProperty("args"u8, out var args) && args.ValueKind != JsonValueKind.Null)
        {
            RequireObject(args, "functionCall.args");
            json.WriteString("arguments"u8, args.GetRawText());
        }
        else
        {
            json.WriteString("arguments"u8, "{}"u8);
        }

        json.WriteEndObject();
        if (part.TryGetProperty("thoughtSignature"u8, out var signature) && signature.ValueKind == JsonValueKind.String)
        {
            json.WriteStartObject("extra_content"u8);
            json.WriteStartObject("google"u8);
            json.WriteString("thought_signature"u8, signature.GetString());
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    /// <summary>The <c>promptFeedback.blockReason</c> of a response whose prompt Gemini refused, else null.</summary>
    public static string? BlockReasonOf(JsonElement response) =>
        response.TryGetProperty("promptFeedback"u8, out var feedback) && feedback.ValueKind == JsonValueKind.Object
            && feedback.TryGetProperty("blockReason"u8, out var reason) && reason.ValueKind != JsonValueKind.Null
            ? StringOrThrow(reason, "promptFeedback.blockReason")
            : null;

    /// <summary><c>chatcmpl-</c> followed by Gemini's <c>responseId</c>, or by a fresh id when there is none.</summary>
    public static string CompletionIdOf(JsonElement response) =>
        response.TryGetProperty("responseId"u8, out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 } responseId
            ? "chatcmpl-" + responseId
            : "chatcmpl-" + Guid.NewGuid().ToString("N");

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="value"/> is an object.</summary>
    public static void RequireObject(JsonElement value, string what)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"Gemini's {what} is not a JSON object.");
        }
    }

    private static string NewToolCallId() => "call_" + Guid.NewGuid().ToString("N")[..24];

    private static string StringOrThrow(JsonElement value, string what) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new InvalidDataException($"Gemini's {what} is not a string.");

    private static JsonElement.ArrayEnumerator ArrayOrEmpty(JsonElement parent, ReadOnlySpan<byte> name, string what)
    {
        if (!parent.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return default;
        }

        return array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : throw new InvalidDataException($"Gemini's {what} is not an array.");
    }
}

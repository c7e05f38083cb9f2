using System.Buffers;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Messages;

/// <summary>
/// Turns an OpenAI chat completion (the router's canonical answer) into an Anthropic Messages
/// API message for a client of <c>/v1/messages</c>. Only choice 0 is used: the request never
/// asks for more.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>finish_reason</c> <c>stop</c> becomes <c>end_turn</c>: OpenAI reports a stop sequence
/// as <c>stop</c> too and does not say which one matched, so <c>stop_sequence</c> is always null.
/// <c>length</c> is <c>max_tokens</c>, <c>tool_calls</c>/<c>function_call</c> <c>tool_use</c>,
/// <c>content_filter</c> <c>refusal</c>; anything else (or none) <c>end_turn</c>.</item>
/// <item>A <c>refusal</c> with no content becomes the text block, so the client sees why.</item>
/// <item>Tool-call <c>arguments</c> that are not a JSON object (a model's malformed output, or
/// cut short by <c>length</c>) become <c>input: {}</c>: Anthropic's <c>tool_use.input</c> must be
/// an object, and the client's own tool validation then tells the model what is missing, which
/// serves it better than failing the whole answer.</item>
/// <item>Usage: OpenAI's <c>prompt_tokens</c> includes cached tokens and Anthropic's
/// <c>input_tokens</c> does not, so <c>input_tokens = prompt_tokens − cached_tokens</c> and
/// <c>cache_read_input_tokens = cached_tokens</c>; OpenAI reports no cache writes.</item>
/// </list>
/// </remarks>
internal static class MessagesResponseTranslator
{
    /// <summary>
    /// Translates <paramref name="openAiCompletion"/>, naming <paramref name="model"/> as the
    /// model; throws <see cref="InvalidDataException"/> when the upstream's answer is not a chat
    /// completion (the upstream's fault: a 502, not the client's 400).
    /// </summary>
    public static byte[] Translate(ReadOnlySpan<byte> openAiCompletion, string model)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(openAiCompletion);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("The upstream's chat completion is not valid JSON.", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("choices"u8, out var choices)
                || choices.ValueKind != JsonValueKind.Array
                || choices.GetArrayLength() == 0
                || choices[0].ValueKind != JsonValueKind.Object
                || !choices[0].TryGetProperty("message"u8, out var message)
                || message.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("The upstream's answer is not a chat completion: it has no choices[0].message.");
            }

            UsageReader.TryRead(openAiCompletion, out var usage, out _);
            var buffer = new ArrayBufferWriter<byte>(openAiCompletion.Length + 256);
            using (var json = new Utf8JsonWriter(buffer, SseEventWriter.JsonOptions))
            {
                json.WriteStartObject();
                json.WriteString("id"u8, MessageId(StringOrNull(root, "id"u8)));
                json.WriteString("type"u8, "message"u8);
                json.WriteString("role"u8, "assistant"u8);
                json.WriteString("model"u8, model);
                json.WriteStartArray("content"u8);
                WriteText(message, json);
                WriteToolUses(message, json);
                json.WriteEndArray();
                json.WriteString("stop_reason"u8, StopReason(StringOrNull(choices[0], "finish_reason"u8)));
                json.WriteNull("stop_sequence"u8);
                WriteUsage(usage, json);
                json.WriteEndObject();
            }

            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>Anthropic's <c>stop_reason</c> for an OpenAI <c>finish_reason</c> (see the remarks on the type).</summary>
    internal static string StopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    /// <summary><c>msg_</c> and the completion id without OpenAI's <c>chatcmpl-</c>; a new id when the upstream sent none.</summary>
    internal static string MessageId(string? completionId)
    {
        if (string.IsNullOrEmpty(completionId))
        {
            return "msg_" + Guid.NewGuid().ToString("N");
        }

        return "msg_" + (completionId.StartsWith("chatcmpl-", StringComparison.Ordinal) ? completionId["chatcmpl-".Length..] : completionId);
    }

    /// <summary>A tool-use id for a call the upstream sent without one.</summary>
    internal static string NewToolUseId() => "toolu_" + Guid.NewGuid().ToString("N");

    /// <summary>Writes Anthropic's <c>usage</c> object for OpenAI-semantics <paramref name="usage"/>.</summary>
    internal static void WriteUsage(TokenUsage usage, Utf8JsonWriter json)
    {
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, Math.Max(0, usage.PromptTokens - usage.CachedTokens - usage.CacheWriteTokens));
        json.WriteNumber("cache_creation_input_tokens"u8, usage.CacheWriteTokens);
        json.WriteNumber("cache_read_input_tokens"u8, usage.CachedTokens);
        json.WriteNumber("output_tokens"u8, usage.CompletionTokens);
        json.WriteEndObject();
    }

    /// <summary>
    /// <c>"caller": {"type": "direct"}</c>, which Anthropic's tool_use blocks carry for a call the
    /// model made itself (as opposed to a server tool); current SDKs require it.
    /// </summary>
    internal static void WriteDirectCaller(Utf8JsonWriter json)
    {
        json.WriteStartObject("caller"u8);
        json.WriteString("type"u8, "direct"u8);
        json.WriteEndObject();
    }

    private static void WriteText(JsonElement message, Utf8JsonWriter json)
    {
        var text = StringOrNull(message, "content"u8);
        if (string.IsNullOrEmpty(text))
        {
            text = StringOrNull(message, "refusal"u8);
        }

        if (!string.IsNullOrEmpty(text))
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "text"u8);
            json.WriteString("text"u8, text);
            json.WriteEndObject();
        }
    }

    private static void WriteToolUses(JsonElement message, Utf8JsonWriter json)
    {
        if (!message.TryGetProperty("tool_calls"u8, out var calls) || calls.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Object
                || !call.TryGetProperty("function"u8, out var function)
                || function.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("The upstream's tool call has no 'function' object.");
            }

            var id = StringOrNull(call, "id"u8);
            json.WriteStartObject();
            json.WriteString("type"u8, "tool_use"u8);
            json.WriteString("id"u8, string.IsNullOrEmpty(id) ? NewToolUseId() : id);
            json.WriteString("name"u8, StringOrNull(function, "name"u8) ?? "");
            json.WritePropertyName("input"u8);
            WriteInput(StringOrNull(function, "arguments"u8), json);
            WriteDirectCaller(json);
            json.WriteEndObject();
        }
    }

    private static void WriteInput(string? arguments, Utf8JsonWriter json)
    {
        if (!string.IsNullOrWhiteSpace(arguments))
        {
            try
            {
                using var parsed = JsonDocument.Parse(arguments);
                if (parsed.RootElement.ValueKind == JsonValueKind.Object)
                {
                    parsed.RootElement.WriteTo(json);
                    return;
                }
            }
            catch (JsonException)
            {
                // Malformed arguments: an empty input, as the remarks on the type explain.
            }
        }

        json.WriteStartObject();
        json.WriteEndObject();
    }

    private static string? StringOrNull(JsonElement owner, ReadOnlySpan<byte> name) =>
        owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

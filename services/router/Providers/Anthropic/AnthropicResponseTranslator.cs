using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>
/// Translates an Anthropic Messages API response (a <c>message</c> object) into an OpenAI
/// <c>chat.completion</c>.
/// </summary>
/// <remarks>
/// <para>
/// One choice: the text blocks concatenated as <c>content</c> (null when there are none) and the
/// <c>tool_use</c> blocks as <c>tool_calls</c> with their input serialised as the
/// <c>arguments</c> string. The id is Anthropic's (<c>msg_...</c>), so a call can be traced in
/// Anthropic's console; the model is the one Anthropic reports.
/// </para>
/// <para>
/// A call of <see cref="AnthropicRequestTranslator.JsonResponseTool"/> (the <c>json_schema</c>
/// technique) becomes the content itself, replacing any text, with finish reason <c>stop</c>.
/// Thinking, redacted thinking and server-tool blocks are left out: the request translator never
/// enables extended thinking or server tools, and OpenAI's message has no place for them.
/// </para>
/// </remarks>
internal static class AnthropicResponseTranslator
{
    /// <summary>Translates the response and reports its usage.</summary>
    /// <param name="anthropicMessage">The Messages API response body.</param>
    /// <param name="created">Unix seconds for OpenAI's <c>created</c> (Anthropic's message has no timestamp).</param>
    /// <param name="usage">The usage in the gateway's shape (zeros when Anthropic reported none).</param>
    /// <exception cref="InvalidDataException">The upstream body is not an Anthropic message (the router answers 502).</exception>
    public static byte[] Translate(ReadOnlySpan<byte> anthropicMessage, long created, out TokenUsage usage)
    {
        using var document = AnthropicJson.ParseUpstream(anthropicMessage, "a response");
        var message = document.RootElement;
        if (AnthropicJson.Get(message, "content") is not { ValueKind: JsonValueKind.Array } blocks)
        {
            throw new InvalidDataException("The Anthropic API sent a response without a 'content' array.");
        }

        var counts = new AnthropicUsageAccumulator();
        counts.Observe(message);
        usage = counts.Usage ?? default;

        var text = new StringBuilder();
        string? jsonResponse = null;
        var toolCalls = new List<JsonElement>();
        foreach (var block in blocks.EnumerateArray())
        {
            switch (AnthropicJson.String(block, "type"))
            {
                case "text":
                    text.Append(AnthropicJson.String(block, "text"));
                    break;
                case "tool_use" when AnthropicJson.String(block, "name") == AnthropicRequestTranslator.JsonResponseTool:
                    jsonResponse = AnthropicJson.Get(block, "input")?.GetRawText() ?? "{}";
                    break;
                case "tool_use":
                    toolCalls.Add(block);
                    break;
            }
        }

        var output = new ArrayBufferWriter<byte>(anthropicMessage.Length + 256);
        using (var json = new Utf8JsonWriter(output, SseEventWriter.JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("id", AnthropicJson.String(message, "id") ?? "");
            json.WriteString("object", "chat.completion");
            json.WriteNumber("created", created);
            json.WriteString("model", AnthropicJson.String(message, "model") ?? "");
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            if (jsonResponse is not null)
            {
                json.WriteString("content", jsonResponse);
            }
            else if (text.Length > 0)
            {
                json.WriteString("content", text.ToString());
            }
            else
            {
                json.WriteNull("content");
            }

            json.WriteNull("refusal");
            WriteToolCalls(json, toolCalls);
            json.WriteEndObject();
            json.WriteNull("logprobs");
            json.WriteString("finish_reason", FinishReason(AnthropicJson.String(message, "stop_reason"), toolCalls.Count > 0));
            json.WriteEndObject();
            json.WriteEndArray();
            AnthropicUsage.WriteOpenAi(json, usage);
            json.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Maps Anthropic's <c>stop_reason</c> to OpenAI's <c>finish_reason</c>. <c>tool_use</c> is
    /// <c>tool_calls</c> only when the client's tools were called: a call of the json_schema tool
    /// alone is an ordinary answer (<c>stop</c>).
    /// </summary>
    internal static string FinishReason(string? stopReason, bool clientToolCalls) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" when clientToolCalls => "tool_calls",
        "refusal" => "content_filter",

        // end_turn, stop_sequence, pause_turn (a server tool paused the turn; the answer so far is
        // complete from OpenAI's point of view) and reasons added later.
        _ => "stop",
    };

    private static void WriteToolCalls(Utf8JsonWriter json, List<JsonElement> toolCalls)
    {
        if (toolCalls.Count == 0)
        {
            return;
        }

        json.WriteStartArray("tool_calls");
        foreach (var call in toolCalls)
        {
            json.WriteStartObject();
            json.WriteString("id", AnthropicJson.String(call, "id") ?? "");
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", AnthropicJson.String(call, "name") ?? "");
            json.WriteString("arguments", AnthropicJson.Get(call, "input")?.GetRawText() ?? "{}");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}

using System.Buffers;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Anthropic;

/// <summary>
/// Translates Anthropic's Messages streaming events into OpenAI <c>chat.completion.chunk</c>
/// events (data-only, as OpenAI sends them).
/// </summary>
/// <remarks>
/// <para>Event by event:</para>
/// <list type="number">
/// <item><c>message_start</c>: fixes the id and model every chunk repeats; first chunk with <c>delta: {role: "assistant", content: ""}</c>.</item>
/// <item><c>content_block_start</c> of a <c>tool_use</c>: a <c>tool_calls</c> delta with index (0-based count of tool calls), id, name and empty arguments.</item>
/// <item><c>content_block_delta</c>: <c>text_delta</c> becomes <c>delta.content</c>; <c>input_json_delta</c> becomes that tool call's <c>function.arguments</c> piece; thinking, signature and citation deltas are left out (see <see cref="AnthropicResponseTranslator"/>).</item>
/// <item><c>message_delta</c>: a chunk with an empty delta and the mapped finish reason.</item>
/// <item><c>message_stop</c>: when usage was asked for, one chunk with <c>choices: []</c> and the usage; then <c>data: [DONE]</c>.</item>
/// <item><c>error</c>: OpenAI's in-stream error, <c>data: {"error": {...}}</c>; every later event is ignored and no <c>[DONE]</c> follows, as when OpenAI fails mid-stream.</item>
/// <item><c>ping</c>, <c>content_block_stop</c> and event types Anthropic adds later: nothing (Anthropic asks clients to ignore unknown events).</item>
/// </list>
/// <para>
/// The <see cref="AnthropicRequestTranslator.JsonResponseTool"/> tool streams its input as
/// <c>delta.content</c> instead of a tool call. When usage was asked for, every other chunk carries
/// <c>"usage": null</c>, as OpenAI's do. Malformed event JSON throws
/// <see cref="InvalidDataException"/>: the upstream broke the stream, not the client.
/// </para>
/// </remarks>
internal sealed class AnthropicStreamTranslator(long created, bool includeUsage) : IStreamTranslator
{
    /// <summary>Marks the block of the json_schema tool in <see cref="_toolBlocks"/>.</summary>
    private const int JsonBlock = -1;

    private readonly SseEventWriter _events = new();
    private readonly AnthropicUsageAccumulator _usage = new();

    // Anthropic block index → OpenAI tool call index, or JsonBlock.
    private readonly Dictionary<int, int> _toolBlocks = [];

    private string _id = "";
    private string _model = "";
    private int _toolCalls;
    private bool _jsonContentWritten;
    private bool _ended;

    /// <inheritdoc />
    public TokenUsage? Usage => _usage.Usage;

    /// <inheritdoc />
    public void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        // The data's "type" repeats the event name; it is used because it is always there.
        using var document = AnthropicJson.ParseUpstream(data, "a stream event");
        var evt = document.RootElement;
        switch (AnthropicJson.String(evt, "type"))
        {
            case "message_start":
                OnMessageStart(evt, output);
                break;
            case "content_block_start":
                OnBlockStart(evt, output);
                break;
            case "content_block_delta":
                OnBlockDelta(evt, output);
                break;
            case "content_block_stop":
                OnBlockStop(evt, output);
                break;
            case "message_delta":
                OnMessageDelta(evt, output);
                break;
            case "message_stop":
                OnMessageStop(output);
                break;
            case "error":
                OnError(evt, output);
                break;
        }
    }

    /// <summary>
    /// Writes nothing: <c>[DONE]</c> was written at <c>message_stop</c>, and a stream that ended
    /// without one was cut off, which the caller decides how to report.
    /// </summary>
    public void Complete(IBufferWriter<byte> output)
    {
    }

    private void OnMessageStart(JsonElement evt, IBufferWriter<byte> output)
    {
        _usage.Observe(evt);
        if (AnthropicJson.Get(evt, "message") is { } message)
        {
            _id = AnthropicJson.String(message, "id") ?? "";
            _model = AnthropicJson.String(message, "model") ?? "";
        }

        var json = BeginChunk();
        json.WriteString("role", "assistant");
        json.WriteString("content", "");
        EndChunk(json, output, null);
    }

    private void OnBlockStart(JsonElement evt, IBufferWriter<byte> output)
    {
        if (AnthropicJson.Get(evt, "content_block") is not { } block || BlockIndex(evt) is not { } index)
        {
            return;
        }

        switch (AnthropicJson.String(block, "type"))
        {
            case "text" when AnthropicJson.String(block, "text") is { Length: > 0 } text:
                WriteContent(output, text);
                break;
            case "tool_use" when AnthropicJson.String(block, "name") == AnthropicRequestTranslator.JsonResponseTool:
                _toolBlocks[index] = JsonBlock;
                break;
            case "tool_use":
                var toolCall = _toolCalls++;
                _toolBlocks[index] = toolCall;
                var json = BeginToolCall(toolCall);
                json.WriteString("id", AnthropicJson.String(block, "id") ?? "");
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", AnthropicJson.String(block, "name") ?? "");
                json.WriteString("arguments", "");
                EndToolCall(json, output);
                break;
        }
    }

    private void OnBlockDelta(JsonElement evt, IBufferWriter<byte> output)
    {
        if (AnthropicJson.Get(evt, "delta") is not { } delta)
        {
            return;
        }

        switch (AnthropicJson.String(delta, "type"))
        {
            case "text_delta" when AnthropicJson.String(delta, "text") is { Length: > 0 } text:
                WriteContent(output, text);
                break;
            case "input_json_delta" when AnthropicJson.String(delta, "partial_json") is { } partial && ToolBlock(evt) is { } toolCall:
                if (toolCall == JsonBlock)
                {
                    if (partial.Length > 0)
                    {
                        _jsonContentWritten = true;
                        WriteContent(output, partial);
                    }

                    break;
                }

                var json = BeginToolCall(toolCall);
                json.WriteStartObject("function");
                json.WriteString("arguments", partial);
                EndToolCall(json, output);
                break;
        }
    }

    private void OnBlockStop(JsonElement evt, IBufferWriter<byte> output)
    {
        // A json_schema answer whose input came without deltas is the empty object, as in a whole response.
        if (ToolBlock(evt) == JsonBlock && !_jsonContentWritten)
        {
            _jsonContentWritten = true;
            WriteContent(output, "{}");
        }
    }

    private void OnMessageDelta(JsonElement evt, IBufferWriter<byte> output)
    {
        _usage.Observe(evt);
        var stopReason = AnthropicJson.Get(evt, "delta") is { } delta ? AnthropicJson.String(delta, "stop_reason") : null;
        EndChunk(BeginChunk(), output, AnthropicResponseTranslator.FinishReason(stopReason, _toolCalls > 0));
    }

    private void OnMessageStop(IBufferWriter<byte> output)
    {
        _ended = true;
        if (includeUsage && _usage.Usage is { } usage)
        {
            var json = BeginEnvelope();
            json.WriteStartArray("choices");
            json.WriteEndArray();
            AnthropicUsage.WriteOpenAi(json, usage);
            json.WriteEndObject();
            _events.End(output, default);
        }

        SseEventWriter.WriteRaw(output, default, "[DONE]"u8);
    }

    private void OnError(JsonElement evt, IBufferWriter<byte> output)
    {
        _ended = true;
        var error = AnthropicJson.Get(evt, "error");
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", (error is { } e ? AnthropicJson.String(e, "message") : null) ?? "The Anthropic API reported an error in the stream.");
        json.WriteString("type", (error is { } t ? AnthropicJson.String(t, "type") : null) ?? "api_error");
        json.WriteNull("param");
        json.WriteNull("code");
        json.WriteEndObject();
        json.WriteEndObject();
        _events.End(output, default);
    }

    /// <summary>The tool call index (or <see cref="JsonBlock"/>) of the event's block; null for blocks that are not tool calls.</summary>
    private int? ToolBlock(JsonElement evt) =>
        BlockIndex(evt) is { } index && _toolBlocks.TryGetValue(index, out var toolCall) ? toolCall : null;

    private static int? BlockIndex(JsonElement evt) =>
        AnthropicJson.Get(evt, "index") is { ValueKind: JsonValueKind.Number } index && index.TryGetInt32(out var i) ? i : null;

    private void WriteContent(IBufferWriter<byte> output, string text)
    {
        var json = BeginChunk();
        json.WriteString("content", text);
        EndChunk(json, output, null);
    }

    /// <summary>Starts a chunk and its only tool call (<c>delta.tool_calls[0]</c>), leaving the call object open.</summary>
    private Utf8JsonWriter BeginToolCall(int toolCall)
    {
        var json = BeginChunk();
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteNumber("index", toolCall);
        return json;
    }

    /// <summary>Closes what <see cref="BeginToolCall"/> opened after the caller opened and filled <c>function</c>.</summary>
    private void EndToolCall(Utf8JsonWriter json, IBufferWriter<byte> output)
    {
        json.WriteEndObject(); // function
        json.WriteEndObject();
        json.WriteEndArray();
        EndChunk(json, output, null);
    }

    /// <summary>The members every chunk starts with; the top-level object is left open.</summary>
    private Utf8JsonWriter BeginEnvelope()
    {
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("id", _id);
        json.WriteString("object", "chat.completion.chunk");
        json.WriteNumber("created", created);
        json.WriteString("model", _model);
        return json;
    }

    /// <summary>Starts a chunk with one choice and leaves its <c>delta</c> object open.</summary>
    private Utf8JsonWriter BeginChunk()
    {
        var json = BeginEnvelope();
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        return json;
    }

    private void EndChunk(Utf8JsonWriter json, IBufferWriter<byte> output, string? finishReason)
    {
        json.WriteEndObject(); // delta
        json.WriteNull("logprobs");
        if (finishReason is null)
        {
            json.WriteNull("finish_reason");
        }
        else
        {
            json.WriteString("finish_reason", finishReason);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        if (includeUsage)
        {
            json.WriteNull("usage");
        }

        json.WriteEndObject();
        _events.End(output, default);
    }
}

using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Messages;

/// <summary>
/// Rewrites an OpenAI chat completion stream (the router's canonical one, requested with
/// <c>include_usage</c>) into Anthropic's Messages stream: <c>message_start</c>, then per content
/// block <c>content_block_start</c>, <c>content_block_delta</c>s and <c>content_block_stop</c>,
/// then <c>message_delta</c> (stop reason and usage) and <c>message_stop</c>.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item><c>message_start</c> goes out with the first upstream chunk. OpenAI reports usage only
/// at the end, so its usage is zero and the real counts (input, cache read, output) come in
/// <c>message_delta</c>, whose usage the Anthropic SDKs copy over the start's.</item>
/// <item>Text (<c>delta.content</c>, and <c>delta.refusal</c>) goes to a text block; each new
/// tool-call <c>index</c> closes the open block and starts a <c>tool_use</c> block whose argument
/// fragments become <c>input_json_delta</c>s, as Anthropic streams <c>input</c>. OpenAI streams
/// one call after another; should a server interleave them, a late fragment still goes to its
/// call's block index.</item>
/// <item><c>finish_reason</c> closes the open block, but <c>message_delta</c> waits: the usage
/// chunk (<c>"choices": []</c>) comes after it. The message ends at that chunk, at
/// <c>[DONE]</c>, or at <see cref="Complete"/>, whichever comes first.</item>
/// <item>An in-stream error (<c>{"error": ...}</c>) or an event that is not JSON becomes
/// Anthropic's <c>event: error</c> with type <c>api_error</c> and ends the stream, which the SDKs
/// raise as an exception; so does <see cref="Fail"/>, for an upstream that broke off.</item>
/// </list>
/// Text and argument strings are copied as the upstream escaped them
/// (<see cref="JsonMarshal.GetRawUtf8Value"/>): no string per token, no unescape and re-escape.
/// </remarks>
internal sealed class MessagesStreamTranslator(string model) : IStreamTranslator
{
    private readonly SseEventWriter _events = new();
    private readonly Dictionary<int, int> _toolBlocks = [];
    private BlockKind _open;
    private int _openIndex = -1;
    private int _openTool = -1;
    private int _nextIndex;
    private bool _started;
    private bool _finished;
    private bool _ended;
    private string? _finishReason;

    private enum BlockKind
    {
        None,
        Text,
        ToolUse,
    }

    /// <inheritdoc/>
    public TokenUsage? Usage { get; private set; }

    /// <inheritdoc/>
    public void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        if (data.Trim(" \r\n"u8).SequenceEqual("[DONE]"u8))
        {
            End(output);
            return;
        }

        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(data);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            Fail(output, "The upstream provider sent a stream event that is not valid JSON.");
            return;
        }

        using (document)
        {
            OnChunk(document.RootElement, data, output);
        }
    }

    /// <inheritdoc/>
    public void Complete(IBufferWriter<byte> output) => End(output);

    /// <summary>
    /// Ends the stream with Anthropic's <c>event: error</c> (type <c>api_error</c>) instead of
    /// <c>message_stop</c>: for an upstream that failed mid-stream (cut connection, idle timeout),
    /// which a client must not take for a complete answer. Nothing is written after it.
    /// </summary>
    public void Fail(IBufferWriter<byte> output, string message)
    {
        if (_ended)
        {
            return;
        }

        var json = _events.Begin();
        AnthropicErrorBody.Write(json, AnthropicErrorBody.ApiError, message);
        _events.End(output, "error"u8);
        _ended = true;
    }

    private void OnChunk(JsonElement chunk, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (chunk.ValueKind != JsonValueKind.Object)
        {
            Fail(output, "The upstream provider sent a stream event that is not a JSON object.");
            return;
        }

        if (chunk.TryGetProperty("error"u8, out _))
        {
            Fail(output, AnthropicErrorBody.MessageOf(chunk) ?? "The upstream provider reported an error in the stream.");
            return;
        }

        Start(chunk, output);
        if (chunk.TryGetProperty("choices"u8, out var choices) && choices.ValueKind == JsonValueKind.Array)
        {
            foreach (var choice in choices.EnumerateArray())
            {
                if (IsFirstChoice(choice))
                {
                    OnChoice(choice, output);
                }
            }
        }

        var hasUsage = chunk.TryGetProperty("usage"u8, out var usage) && usage.ValueKind == JsonValueKind.Object;
        if (hasUsage && UsageReader.TryRead(data, out var read, out _))
        {
            Usage = read;
        }

        if (hasUsage && _finished)
        {
            End(output);
        }
    }

    private static bool IsFirstChoice(JsonElement choice) =>
        choice.ValueKind == JsonValueKind.Object
        && (!choice.TryGetProperty("index"u8, out var index) || (index.ValueKind == JsonValueKind.Number && index.TryGetInt32(out var value) && value == 0));

    private void OnChoice(JsonElement choice, IBufferWriter<byte> output)
    {
        if (choice.TryGetProperty("delta"u8, out var delta) && delta.ValueKind == JsonValueKind.Object)
        {
            Text(delta, "content"u8, output);
            Text(delta, "refusal"u8, output);
            if (delta.TryGetProperty("tool_calls"u8, out var calls) && calls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in calls.EnumerateArray())
                {
                    if (call.ValueKind == JsonValueKind.Object)
                    {
                        ToolCall(call, output);
                    }
                }
            }
        }

        if (choice.TryGetProperty("finish_reason"u8, out var finish) && finish.ValueKind == JsonValueKind.String)
        {
            _finishReason = finish.GetString();
            _finished = true;
            CloseBlock(output);
        }
    }

    private void Text(JsonElement delta, ReadOnlySpan<byte> property, IBufferWriter<byte> output)
    {
        if (!delta.TryGetProperty(property, out var text) || text.ValueKind != JsonValueKind.String || text.ValueEquals(""u8))
        {
            return;
        }

        if (_open != BlockKind.Text)
        {
            CloseBlock(output);
            OpenBlock(BlockKind.Text, output, static json =>
            {
                json.WriteString("type"u8, "text"u8);
                json.WriteString("text"u8, ""u8);
            });
        }

        Delta(_openIndex, "text_delta"u8, "text"u8, text, output);
    }

    private void ToolCall(JsonElement call, IBufferWriter<byte> output)
    {
        var id = call.TryGetProperty("id"u8, out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
        var function = call.TryGetProperty("function"u8, out var f) && f.ValueKind == JsonValueKind.Object ? f : default;

        // Servers that omit the index send each call whole or start each with its id.
        int toolIndex;
        if (call.TryGetProperty("index"u8, out var indexValue) && indexValue.ValueKind == JsonValueKind.Number && indexValue.TryGetInt32(out var index))
        {
            toolIndex = index;
        }
        else
        {
            toolIndex = !string.IsNullOrEmpty(id) || _openTool < 0 ? _toolBlocks.Count : _openTool;
        }

        int blockIndex;
        if (_open == BlockKind.ToolUse && _openTool == toolIndex)
        {
            blockIndex = _openIndex;
        }
        else if (!_toolBlocks.TryGetValue(toolIndex, out blockIndex))
        {
            CloseBlock(output);
            var name = function.ValueKind == JsonValueKind.Object && function.TryGetProperty("name"u8, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            var toolUseId = string.IsNullOrEmpty(id) ? MessagesResponseTranslator.NewToolUseId() : id;
            OpenBlock(BlockKind.ToolUse, output, json =>
            {
                json.WriteString("type"u8, "tool_use"u8);
                json.WriteString("id"u8, toolUseId);
                json.WriteString("name"u8, name ?? "");
                json.WriteStartObject("input"u8);
                json.WriteEndObject();
                MessagesResponseTranslator.WriteDirectCaller(json);
            });
            _openTool = toolIndex;
            blockIndex = _openIndex;
            _toolBlocks[toolIndex] = blockIndex;
        }

        if (function.ValueKind != JsonValueKind.Object
            || !function.TryGetProperty("arguments"u8, out var arguments)
            || arguments.ValueKind != JsonValueKind.String
            || arguments.ValueEquals(""u8))
        {
            return;
        }

        Delta(blockIndex, "input_json_delta"u8, "partial_json"u8, arguments, output);
    }

    /// <summary>A <c>content_block_delta</c> carrying the upstream string <paramref name="value"/> as it was escaped.</summary>
    private void Delta(int index, ReadOnlySpan<byte> type, ReadOnlySpan<byte> property, JsonElement value, IBufferWriter<byte> output)
    {
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_delta"u8);
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("delta"u8);
        json.WriteString("type"u8, type);
        json.WritePropertyName(property);
        // The document already validated the string; its raw bytes include the quotes.
        json.WriteRawValue(JsonMarshal.GetRawUtf8Value(value), skipInputValidation: true);
        json.WriteEndObject();
        json.WriteEndObject();
        _events.End(output, "content_block_delta"u8);
    }

    private void Start(JsonElement chunk, IBufferWriter<byte> output)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var id = chunk.ValueKind == JsonValueKind.Object && chunk.TryGetProperty("id"u8, out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("type"u8, "message_start"u8);
        json.WriteStartObject("message"u8);
        json.WriteString("id"u8, MessagesResponseTranslator.MessageId(id));
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, model);
        json.WriteStartArray("content"u8);
        json.WriteEndArray();
        json.WriteNull("stop_reason"u8);
        json.WriteNull("stop_sequence"u8);
        MessagesResponseTranslator.WriteUsage(default, json);
        json.WriteEndObject();
        json.WriteEndObject();
        _events.End(output, "message_start"u8);
    }

    private void OpenBlock(BlockKind kind, IBufferWriter<byte> output, Action<Utf8JsonWriter> writeBlock)
    {
        _open = kind;
        _openIndex = _nextIndex++;
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_start"u8);
        json.WriteNumber("index"u8, _openIndex);
        json.WriteStartObject("content_block"u8);
        writeBlock(json);
        json.WriteEndObject();
        json.WriteEndObject();
        _events.End(output, "content_block_start"u8);
    }

    private void CloseBlock(IBufferWriter<byte> output)
    {
        if (_open == BlockKind.None)
        {
            return;
        }

        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_stop"u8);
        json.WriteNumber("index"u8, _openIndex);
        json.WriteEndObject();
        _events.End(output, "content_block_stop"u8);
        _open = BlockKind.None;
        _openTool = -1;
    }

    /// <summary>Closes the message: the open block, <c>message_delta</c> with the stop reason and usage, <c>message_stop</c>.</summary>
    private void End(IBufferWriter<byte> output)
    {
        if (_ended)
        {
            return;
        }

        Start(default, output);
        CloseBlock(output);
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("type"u8, "message_delta"u8);
        json.WriteStartObject("delta"u8);
        json.WriteString("stop_reason"u8, MessagesResponseTranslator.StopReason(_finishReason));
        json.WriteNull("stop_sequence"u8);
        json.WriteEndObject();
        MessagesResponseTranslator.WriteUsage(Usage ?? default, json);
        json.WriteEndObject();
        _events.End(output, "message_delta"u8);

        json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("type"u8, "message_stop"u8);
        json.WriteEndObject();
        _events.End(output, "message_stop"u8);
        _ended = true;
    }
}

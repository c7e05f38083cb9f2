using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Providers.Gemini;

/// <summary>
/// Rewrites Gemini's <c>streamGenerateContent?alt=sse</c> stream (unnamed events, each
/// <c>data: &lt;GenerateContentResponse&gt;</c> holding the next piece of every candidate) into
/// OpenAI <c>chat.completion.chunk</c> events ending in <c>data: [DONE]</c>.
/// </summary>
/// <remarks>
/// Per Gemini event, in order:
/// <list type="number">
/// <item>An <c>error</c> object becomes OpenAI's in-stream error, <c>data: {"error":{...}}</c>.</item>
/// <item>The first event fixes the chunk <c>id</c> (<c>chatcmpl-</c> + <c>responseId</c>); every
/// chunk has the same <c>id</c>, <c>created</c> and <c>model</c>.</item>
/// <item><c>usageMetadata</c>, sent on many pieces with the totals on the last, replaces what was
/// kept, so <see cref="Usage"/> is the latest report even when the stream is cut off.</item>
/// <item>Per candidate: its text parts (thoughts skipped) become one <c>delta.content</c> and its
/// <c>functionCall</c> parts <c>delta.tool_calls</c>, whole, numbered per choice; the first chunk
/// of each choice carries <c>delta.role: "assistant"</c>. A <c>finishReason</c> then gets a chunk
/// of its own with an empty delta, as OpenAI ends its choices.</item>
/// <item>A refused prompt (no candidates, <c>promptFeedback.blockReason</c>) ends choice 0 with
/// <c>content_filter</c>.</item>
/// </list>
/// <see cref="Complete"/> writes the usage-only chunk (<c>"choices": []</c>) when the client asked
/// for <c>include_usage</c>, then <c>[DONE]</c>. With <c>include_usage</c> every other chunk has
/// <c>"usage": null</c>, as OpenAI's do.
/// </remarks>
internal sealed class GeminiStreamTranslator(string model, long created, bool includeUsage) : IStreamTranslator
{
    private readonly SseEventWriter _events = new();

    // JsonDocument keeps its input alive while in use; one reused copy buffer per stream instead of an array per event.
    private readonly ArrayBufferWriter<byte> _input = new(4096);
    private readonly StringBuilder _text = new();
    private readonly List<JsonElement> _calls = [];
    private readonly Dictionary<int, ChoiceState> _choices = [];
    private string? _id;

    /// <inheritdoc />
    public TokenUsage? Usage { get; private set; }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The event is not JSON or not a GenerateContentResponse.</exception>
    public void OnEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        _input.ResetWrittenCount();
        _input.Write(data);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(_input.WrittenMemory);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The Gemini API streamed an event that is not JSON: {e.Message}", e);
        }

        using (document)
        {
            Translate(document.RootElement, output);
        }
    }

    /// <inheritdoc />
    public void Complete(IBufferWriter<byte> output)
    {
        if (includeUsage)
        {
            var json = BeginChunk();
            json.WriteStartArray("choices"u8);
            json.WriteEndArray();
            if (Usage is { } usage)
            {
                GeminiUsage.Write(json, usage);
            }
            else
            {
                json.WriteNull("usage"u8); // Gemini reported none; the router estimates
            }

            json.WriteEndObject();
            _events.End(output, default);
        }

        SseEventWriter.WriteRaw(output, default, "[DONE]"u8);
    }

    private void Translate(JsonElement response, IBufferWriter<byte> output)
    {
        if (GeminiErrors.TryRead(response, out var status, out var message))
        {
            WriteError(output, status, message);
            return;
        }

        GeminiCandidates.RequireObject(response, "stream event");
        _id ??= GeminiCandidates.CompletionIdOf(response);
        Usage = GeminiUsage.Read(response) ?? Usage;

        var position = 0;
        foreach (var candidate in GeminiCandidates.Of(response))
        {
            var index = GeminiCandidates.IndexOf(candidate, position++);
            if (!_choices.TryGetValue(index, out var choice))
            {
                _choices[index] = choice = new ChoiceState();
            }

            _text.Clear();
            _calls.Clear();
            var hasText = GeminiCandidates.ReadParts(candidate, _text, _calls) && _text.Length > 0;
            if (hasText || _calls.Count > 0)
            {
                WriteDelta(output, index, choice);
            }

            if (GeminiCandidates.FinishReasonOf(candidate) is { } reason)
            {
                WriteFinish(output, index, choice, GeminiCandidates.ToOpenAiFinishReason(reason, choice.ToolCalls > 0));
            }
        }

        if (position == 0 && GeminiCandidates.BlockReasonOf(response) is not null)
        {
            if (!_choices.TryGetValue(0, out var first))
            {
                _choices[0] = first = new ChoiceState();
            }

            WriteFinish(output, 0, first, "content_filter");
        }
    }

    private void WriteDelta(IBufferWriter<byte> output, int index, ChoiceState choice)
    {
        var json = BeginChoice(index, choice);
        if (_text.Length > 0)
        {
            json.WriteString("content"u8, _text.ToString());
        }

        if (_calls.Count > 0)
        {
            json.WriteStartArray("tool_calls"u8);
            foreach (var part in _calls)
            {
                GeminiCandidates.WriteToolCall(json, part, choice.ToolCalls++);
            }

            json.WriteEndArray();
        }

        EndChoice(json, output, finishReason: null);
    }

    private void WriteFinish(IBufferWriter<byte> output, int index, ChoiceState choice, string finishReason)
    {
        if (choice.Finished)
        {
            return; // one finish per choice, should a later piece repeat it
        }

        choice.Finished = true;
        EndChoice(BeginChoice(index, choice), output, finishReason);
    }

    /// <summary>Opens a chunk with one choice and leaves the writer inside its <c>delta</c>.</summary>
    private Utf8JsonWriter BeginChoice(int index, ChoiceState choice)
    {
        var json = BeginChunk();
        json.WriteStartArray("choices"u8);
        json.WriteStartObject();
        json.WriteNumber("index"u8, index);
        json.WriteStartObject("delta"u8);
        if (!choice.RoleSent)
        {
            json.WriteString("role"u8, "assistant"u8);
            choice.RoleSent = true;
        }

        return json;
    }

    /// <summary>Closes the delta and the chunk <see cref="BeginChoice"/> opened, and writes the event.</summary>
    private void EndChoice(Utf8JsonWriter json, IBufferWriter<byte> output, string? finishReason)
    {
        json.WriteEndObject();
        json.WriteNull("logprobs"u8);
        json.WriteString("finish_reason"u8, finishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        if (includeUsage)
        {
            json.WriteNull("usage"u8);
        }

        json.WriteEndObject();
        _events.End(output, default);
    }

    private Utf8JsonWriter BeginChunk()
    {
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteString("id"u8, _id ??= "chatcmpl-" + Guid.NewGuid().ToString("N"));
        json.WriteString("object"u8, "chat.completion.chunk"u8);
        json.WriteNumber("created"u8, created);
        json.WriteString("model"u8, model);
        return json;
    }

    private void WriteError(IBufferWriter<byte> output, string status, string message)
    {
        var json = _events.Begin();
        json.WriteStartObject();
        json.WriteStartObject("error"u8);
        json.WriteString("message"u8, message);
        json.WriteString("type"u8, OpenAiError.Upstream);
        json.WriteString("code"u8, status);
        json.WriteNull("param"u8);
        json.WriteEndObject();
        json.WriteEndObject();
        _events.End(output, default);
    }

    private sealed class ChoiceState
    {
        public bool RoleSent;
        public bool Finished;
        public int ToolCalls;
    }
}

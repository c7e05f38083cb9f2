using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Router.Providers;
using Grpc.Core;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// The filtering stage between a streamed answer and the client when guardrails check the output:
/// takes the client-format SSE bytes (after translation), cuts them into events, sends each event's
/// answer text to the guardrails service's <c>CheckStream</c> call and writes the event with the text
/// the verdict says is safe to emit (masked, restored, or empty while the service holds text back).
/// </summary>
/// <remarks>
/// Lockstep, as the proto asks: one delta, then its one verdict, before the event is written. Text
/// lives in OpenAI chat's <c>choices[i].delta.content</c>, legacy completions' <c>choices[i].text</c>
/// and Anthropic's <c>content_block_delta</c> <c>text_delta</c> (guarded per content block: the block
/// index is the delta's index). The end of a choice (<c>finish_reason</c>) or block
/// (<c>content_block_stop</c>) is sent as <c>done</c>, and what the service still held comes back in
/// that verdict: it goes into the finishing chunk (OpenAI) or a delta event just before the stop
/// (Anthropic). Events without text pass through unchanged. Only built when CheckInput asked for output
/// checks, so ordinary streams keep their byte-for-byte relay. When the guardrails service fails
/// mid-stream, <see cref="OnError"/> applies the rules' <c>on_error</c>: fail closed ends the stream
/// like a block; fail open relays the rest unchecked (text the service was holding back is lost with it).
/// </remarks>
internal sealed class OutputStreamGuard : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<StreamChunk, StreamVerdict> _call;
    private readonly WireFormat _format;
    private readonly TimeSpan _timeout;
    private readonly CancellationToken _aborted;
    private readonly ArrayBufferWriter<byte> _pending = new(4096);
    private readonly HashSet<int> _open = [];
    private bool _contextSent;
    private bool _unchecked;
    private bool _legacyCompletions;
    private readonly CheckOutputRequest _context;

    /// <summary>Opens the <c>CheckStream</c> call; the context goes with the first delta.</summary>
    public OutputStreamGuard(Guardrails.Grpc.Guardrails.GuardrailsClient client, CheckOutputRequest context, WireFormat format, TimeSpan timeout, CancellationToken aborted)
    {
        _call = client.CheckStream(cancellationToken: aborted);
        _context = context;
        _format = format;
        _timeout = timeout;
        _aborted = aborted;
    }

    /// <summary>Why the stream must end, once a write returned false: <c>guardrail_blocked</c> or <c>guardrails_unavailable</c>.</summary>
    public string StopCode { get; private set; } = "";

    /// <summary>The message of the error event that ends the stream; never echoes the content.</summary>
    public string StopMessage { get; private set; } = "";

    /// <summary>Where findings of the verdicts go (the request's ledger findings). Default: a list of its own.</summary>
    public List<Accounting.Grpc.GuardrailFinding> Findings { get; init; } = [];

    /// <summary>Decides what a failed call means (the rules' <c>on_error</c>). Default: none, so every failure ends the stream.</summary>
    public Func<RpcException, GuardrailsOutage>? OnError { get; init; }

    /// <summary>The guardrail that blocked (<c>rule/check</c>) and its category, for the log.</summary>
    public (string Guardrail, string Category) BlockedBy { get; private set; }

    /// <summary>Takes the next bytes of the stream and writes every complete event to <paramref name="output"/>; false when the stream must end.</summary>
    public async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> bytes, PipeWriter output)
    {
        if (_unchecked)
        {
            output.Write(bytes.Span);
            return true;
        }

        _pending.Write(bytes.Span);
        var consumed = 0;
        try
        {
            while (NextEvent(_pending.WrittenMemory[consumed..]) is var length && length > 0)
            {
                var ok = await ProcessAsync(_pending.WrittenMemory.Slice(consumed, length), output);
                consumed += length;
                if (!ok)
                {
                    return false;
                }
            }
        }
        catch (RpcException e) when (!_aborted.IsCancellationRequested)
        {
            if (OnError?.Invoke(e) is { FailedOpen: true })
            {
                // Every rule on the answer fails open: the rest goes out as the provider sent it.
                _unchecked = true;
                output.Write(_pending.WrittenSpan[consumed..]);
                _pending.ResetWrittenCount();
                return true;
            }

            StopCode = "guardrails_unavailable";
            StopMessage = $"The gateway could not check the rest of this answer ({e.StatusCode}); it is incomplete.";
            return false;
        }

        // Keep the unfinished event; a stream's events are small, so the copy is short.
        var rest = _pending.WrittenSpan[consumed..].ToArray();
        _pending.ResetWrittenCount();
        _pending.Write(rest);
        return true;
    }

    /// <summary>Writes a trailing partial event as it is (a stream without a final blank line).</summary>
    public void Complete(PipeWriter output)
    {
        output.Write(_pending.WrittenSpan);
        _pending.ResetWrittenCount();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (StopCode.Length == 0 && _contextSent && !_unchecked)
            {
                await _call.RequestStream.CompleteAsync();
            }
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The call already ended; nothing is waiting for this half-close.
        }

        _call.Dispose();
    }

    /// <summary>Length of the first complete event (through its blank line), or 0.</summary>
    private static int NextEvent(ReadOnlyMemory<byte> buffer)
    {
        var span = buffer.Span;
        var lf = span.IndexOf("\n\n"u8);
        var crlf = span.IndexOf("\r\n\r\n"u8);
        return lf < 0 && crlf < 0 ? 0
            : crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4
            : lf + 2;
    }

    private async ValueTask<bool> ProcessAsync(ReadOnlyMemory<byte> raw, PipeWriter output)
    {
        var eventName = SseFields(raw.Span, out var dataRange);
        var data = raw.Span[dataRange];
        JsonObject? json = null;
        if (data.Length > 0 && data[0] == (byte)'{')
        {
            try
            {
                json = JsonNode.Parse(data) as JsonObject;
            }
            catch (JsonException)
            {
                json = null;
            }
        }

        if (json is null && _open.Count > 0 && data.SequenceEqual("[DONE]"u8) && !await FlushOpenChoicesAsync(output))
        {
            return false;
        }

        var changed = json is not null && (_format == WireFormat.Anthropic
            ? await AnthropicAsync(json, eventName, output)
            : await OpenAiAsync(json));
        if (StopCode.Length > 0)
        {
            return false;
        }

        if (changed)
        {
            WriteEvent(output, eventName, json!);
        }
        else
        {
            output.Write(raw.Span);
        }

        return true;
    }

    /// <summary>Rewrites the text of every choice in an OpenAI chunk; true when the chunk changed.</summary>
    private async ValueTask<bool> OpenAiAsync(JsonObject chunk)
    {
        if (chunk["choices"] is not JsonArray choices)
        {
            return false;
        }

        var changed = false;
        foreach (var choice in choices.OfType<JsonObject>())
        {
            var index = choice["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
            var finished = choice["finish_reason"] is JsonValue f && f.GetValueKind() == JsonValueKind.String;
            var (holder, key) = choice["delta"] is JsonObject delta ? (delta, "content") : choice.ContainsKey("text") ? (choice, "text") : (null, "");
            if (holder is null)
            {
                continue;
            }

            _legacyCompletions = key == "text";

            var text = holder[key] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
            if (text is null && !(finished && _open.Contains(index)))
            {
                continue;
            }

            var verdict = await CheckAsync(index, text ?? "", finished);
            if (verdict is null)
            {
                return false;
            }

            if (text is not null || verdict.Text.Length > 0)
            {
                holder[key] = verdict.Text;
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>
    /// Before <c>[DONE]</c>: choices that never sent a <c>finish_reason</c> (a provider that omits it)
    /// still get their held-back text, in a chunk of their own; false when the stream must end.
    /// </summary>
    private async ValueTask<bool> FlushOpenChoicesAsync(PipeWriter output)
    {
        foreach (var index in _open.Order().ToList())
        {
            var verdict = await CheckAsync(index, "", done: true);
            if (verdict is null)
            {
                return false;
            }

            if (verdict.Text.Length > 0)
            {
                var choice = new JsonObject { ["index"] = index };
                if (_legacyCompletions)
                {
                    choice["text"] = verdict.Text;
                }
                else
                {
                    choice["delta"] = new JsonObject { ["content"] = verdict.Text };
                }

                WriteEvent(output, "", new JsonObject
                {
                    ["object"] = _legacyCompletions ? "text_completion" : "chat.completion.chunk",
                    ["choices"] = new JsonArray(choice),
                });
            }
        }

        return true;
    }

    /// <summary>Rewrites a <c>text_delta</c>, or flushes held text before a text block's stop; true when the event changed.</summary>
    private async ValueTask<bool> AnthropicAsync(JsonObject evt, string eventName, PipeWriter output)
    {
        var type = evt["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : eventName;
        var index = evt["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
        if (type == "content_block_delta" && evt["delta"] is JsonObject delta
            && delta["type"] is JsonValue dt && dt.TryGetValue<string>(out var deltaType) && deltaType == "text_delta")
        {
            var text = delta["text"] is JsonValue tv && tv.TryGetValue<string>(out var value) ? value : "";
            var verdict = await CheckAsync(index, text, done: false);
            if (verdict is null)
            {
                return false;
            }

            delta["text"] = verdict.Text;
            return true;
        }

        if (type == "content_block_stop" && _open.Contains(index))
        {
            var verdict = await CheckAsync(index, "", done: true);
            if (verdict is null || verdict.Text.Length == 0)
            {
                return false;
            }

            var flush = new JsonObject
            {
                ["type"] = "content_block_delta",
                ["index"] = index,
                ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = verdict.Text },
            };
            WriteEvent(output, "content_block_delta", flush);
        }

        return false;
    }

    /// <summary>One delta, one verdict; null (with the stop set) when the stream must end.</summary>
    private async ValueTask<StreamVerdict?> CheckAsync(int index, string text, bool done)
    {
        if (!_contextSent)
        {
            await _call.RequestStream.WriteAsync(new StreamChunk { Context = _context }, _aborted);
            _contextSent = true;
        }

        if (done)
        {
            _open.Remove(index);
        }
        else
        {
            _open.Add(index);
        }

        await _call.RequestStream.WriteAsync(new StreamChunk { Delta = new TextDelta { Index = index, Text = text, Done = done } }, _aborted);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_aborted);
        deadline.CancelAfter(_timeout);
        if (!await _call.ResponseStream.MoveNext(deadline.Token))
        {
            throw new RpcException(new Status(StatusCode.Internal, "The guardrails stream ended without a verdict."));
        }

        var verdict = _call.ResponseStream.Current;
        GuardrailsOutage.AddFindings(Findings, verdict.Findings, GuardrailStage.Output);
        if (verdict.Verdict == Verdict.Block)
        {
            StopCode = "guardrail_blocked";
            BlockedBy = (verdict.Guardrail, verdict.Category);
            StopMessage = $"Blocked by guardrail '{verdict.Guardrail}' (category '{verdict.Category}'). {verdict.Message}".TrimEnd();
            return null;
        }

        return verdict;
    }

    /// <summary>The <c>event:</c> name and the <c>data:</c> payload of one event (single data line, as every provider sends).</summary>
    private static string SseFields(ReadOnlySpan<byte> raw, out Range data)
    {
        var name = "";
        data = default;
        foreach (var range in raw.Split((byte)'\n'))
        {
            var line = raw[range].TrimEnd((byte)'\r');
            if (line.StartsWith("event:"u8))
            {
                name = System.Text.Encoding.UTF8.GetString(line[6..].Trim((byte)' '));
            }
            else if (line.StartsWith("data:"u8))
            {
                var start = range.Start.Value + 5;
                while (start < range.End.Value && raw[start] == (byte)' ')
                {
                    start++;
                }

                data = start..(range.Start.Value + line.Length);
            }
        }

        return name;
    }

    private static void WriteEvent(PipeWriter output, string eventName, JsonObject json)
    {
        if (eventName.Length > 0)
        {
            output.Write("event: "u8);
            output.Write(System.Text.Encoding.UTF8.GetBytes(eventName));
            output.Write("\n"u8);
        }

        output.Write("data: "u8);
        using (var writer = new Utf8JsonWriter(output))
        {
            json.WriteTo(writer);
        }

        output.Write("\n\n"u8);
    }
}

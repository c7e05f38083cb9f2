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
/// takes the client-format SSE bytes (after translation), cuts them into events, sends their answer
/// text to the guardrails service's <c>CheckStream</c> call and writes the events with the text the
/// verdict says is safe to emit (masked, restored, or empty while the service holds text back).
/// </summary>
/// <remarks>
/// <para>
/// One round trip per upstream read: the text deltas of every complete event one
/// <see cref="WriteAsync"/> receives go to the service as one <c>DeltaBatch</c> and come back as one
/// verdict with a text per delta (the service puts a choice's released text on its last delta of the
/// batch). Lockstep, one round trip per delta, cost 201 round trips for a 200-delta stream;
/// docs/guardrails.md has the numbers (<c>tests/Guardrails.Benchmarks</c>, <c>stream</c> mode).
/// </para>
/// <para>
/// Text lives in OpenAI chat's <c>choices[i].delta.content</c>, legacy completions' <c>choices[i].text</c>
/// and Anthropic's <c>content_block_delta</c> <c>text_delta</c> (guarded per content block: the block
/// index is the delta's index). The end of a choice (<c>finish_reason</c>) or block
/// (<c>content_block_stop</c>) is sent as <c>done</c>, and what the service still held comes back for
/// it: it goes into the finishing chunk (OpenAI) or a delta event just before the stop (Anthropic).
/// Events without text pass through unchanged; a block writes nothing more of the read. Only built
/// when CheckInput asked for output checks, so ordinary streams keep their byte-for-byte relay.
/// </para>
/// <para>
/// When the guardrails service fails mid-stream, <see cref="OnError"/> applies the rules'
/// <c>on_error</c>: fail closed ends the stream like a block; fail open first emits the text the
/// service was holding back (its last verdict said what, <c>held</c>), then relays the rest unchecked,
/// so nothing of the answer is lost.
/// </para>
/// </remarks>
internal sealed class OutputStreamGuard : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<StreamChunk, StreamVerdict> _call;
    private readonly WireFormat _format;
    private readonly TimeSpan _timeout;
    private readonly CancellationToken _aborted;
    private readonly ArrayBufferWriter<byte> _pending = new(4096);
    private readonly HashSet<int> _open = [];
    private readonly List<GuardedEvent> _events = [];
    private readonly Dictionary<int, string> _held = [];
    private readonly CheckOutputRequest _context;
    private DeltaBatch _batch = new();
    private bool _contextSent;
    private bool _unchecked;
    private bool _legacyCompletions;
    private JsonObject? _lastChunk;

    /// <summary>Opens the <c>CheckStream</c> call; the context goes with the first batch.</summary>
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

    /// <summary>How many batches went to the service and waited for their verdict: at most one per <see cref="WriteAsync"/>.</summary>
    public int RoundTrips { get; private set; }

    /// <summary>Takes the next bytes of the stream (one upstream read) and writes every complete event to <paramref name="output"/>; false when the stream must end.</summary>
    /// <remarks>Steps: 1. cut the complete events and note where their text goes; 2. one round trip for all their deltas; 3. write them with the verdict's texts.</remarks>
    public async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> bytes, PipeWriter output)
    {
        if (_unchecked)
        {
            output.Write(bytes.Span);
            return true;
        }

        // 1. Events and their deltas.
        _pending.Write(bytes.Span);
        _events.Clear();
        _batch = new DeltaBatch();
        var consumed = 0;
        while (NextEvent(_pending.WrittenMemory[consumed..]) is var length && length > 0)
        {
            _events.Add(Read(consumed, length));
            consumed += length;
        }

        // 2. One round trip.
        StreamVerdict? verdict = null;
        if (_batch.Deltas.Count > 0)
        {
            try
            {
                verdict = await CheckAsync();
            }
            catch (RpcException e) when (!_aborted.IsCancellationRequested)
            {
                if (OnError?.Invoke(e) is { FailedOpen: true })
                {
                    // Every rule on the answer fails open: what the service held back goes first, then
                    // this read and everything after it as the provider sent it.
                    _unchecked = true;
                    foreach (var (index, text) in _held.OrderBy(pair => pair.Key))
                    {
                        WriteEvent(output, TextEvent(index, text));
                    }

                    output.Write(_pending.WrittenSpan);
                    _pending.ResetWrittenCount();
                    return true;
                }

                StopCode = "guardrails_unavailable";
                StopMessage = $"The gateway could not check the rest of this answer ({e.StatusCode}); it is incomplete.";
                return false;
            }

            if (verdict.Verdict == Verdict.Block)
            {
                StopCode = "guardrail_blocked";
                BlockedBy = (verdict.Guardrail, verdict.Category);
                StopMessage = $"Blocked by guardrail '{verdict.Guardrail}' (category '{verdict.Category}'). {verdict.Message}".TrimEnd();
                return false;
            }
        }

        // 3. The events, with the verdict's texts.
        foreach (var evt in _events)
        {
            Write(evt, verdict, output);
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

    /// <summary>Parses the event at <paramref name="start"/> of the pending bytes and adds its deltas to the batch.</summary>
    private GuardedEvent Read(int start, int length)
    {
        var raw = _pending.WrittenSpan.Slice(start, length);
        var evt = new GuardedEvent(start, length, SseFields(raw, out var dataRange));
        var data = raw[dataRange];
        if (data.Length > 0 && data[0] == (byte)'{')
        {
            try
            {
                evt.Json = JsonNode.Parse(data) as JsonObject;
            }
            catch (JsonException)
            {
                evt.Json = null;
            }
        }

        if (evt.Json is null)
        {
            if (data.SequenceEqual("[DONE]"u8))
            {
                // Choices that never sent a finish_reason (a provider that omits it) still get their
                // held-back text, in chunks of their own before [DONE].
                foreach (var index in _open.Order().ToList())
                {
                    evt.Flushes.Add((Add(index, "", done: true), index));
                }
            }
        }
        else if (_format == WireFormat.Anthropic)
        {
            ReadAnthropic(evt, evt.Json);
        }
        else
        {
            ReadOpenAi(evt, evt.Json);
        }

        return evt;
    }

    /// <summary>The text of every choice in an OpenAI chunk, and the ends of choices that are open.</summary>
    private void ReadOpenAi(GuardedEvent evt, JsonObject chunk)
    {
        if (chunk["choices"] is not JsonArray choices)
        {
            return;
        }

        _lastChunk = chunk;
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
            if (text is not null || (finished && _open.Contains(index)))
            {
                evt.Texts.Add((Add(index, text ?? "", finished), holder, key, text is not null));
            }
        }
    }

    /// <summary>A <c>text_delta</c>, or the stop of a text block that is open.</summary>
    private void ReadAnthropic(GuardedEvent evt, JsonObject json)
    {
        var type = json["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : evt.Name;
        var index = json["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
        if (type == "content_block_delta" && json["delta"] is JsonObject delta
            && delta["type"] is JsonValue dt && dt.TryGetValue<string>(out var deltaType) && deltaType == "text_delta")
        {
            var text = delta["text"] is JsonValue tv && tv.TryGetValue<string>(out var value) ? value : "";
            evt.Texts.Add((Add(index, text, done: false), delta, "text", true));
        }
        else if (type == "content_block_stop" && _open.Contains(index))
        {
            evt.Flushes.Add((Add(index, "", done: true), index));
        }
    }

    /// <summary>Adds a delta to the batch; returns its position (where its text comes back in the verdict).</summary>
    private int Add(int index, string text, bool done)
    {
        if (done)
        {
            _open.Remove(index);
        }
        else
        {
            _open.Add(index);
        }

        _batch.Deltas.Add(new TextDelta { Index = index, Text = text, Done = done });
        return _batch.Deltas.Count - 1;
    }

    /// <summary>Writes an event with its deltas' texts: flushed text in events of its own first, then the event (rewritten if its text changed).</summary>
    private void Write(GuardedEvent evt, StreamVerdict? verdict, PipeWriter output)
    {
        foreach (var (delta, index) in evt.Flushes)
        {
            if (verdict!.Texts[delta] is { Length: > 0 } text)
            {
                WriteEvent(output, TextEvent(index, text));
            }
        }

        var changed = false;
        foreach (var (delta, holder, key, hadText) in evt.Texts)
        {
            var text = verdict!.Texts[delta];
            if (hadText || text.Length > 0)
            {
                holder[key] = text;
                changed = true;
            }
        }

        if (changed)
        {
            WriteEvent(output, (evt.Name, evt.Json!));
        }
        else
        {
            output.Write(_pending.WrittenSpan.Slice(evt.Start, evt.Length));
        }
    }

    /// <summary>An event of its own carrying <paramref name="text"/> for a choice or block, in the client's format.</summary>
    private (string Name, JsonObject Json) TextEvent(int index, string text)
    {
        if (_format == WireFormat.Anthropic)
        {
            return ("content_block_delta", new JsonObject
            {
                ["type"] = "content_block_delta",
                ["index"] = index,
                ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = text },
            });
        }

        var choice = new JsonObject { ["index"] = index };
        if (_legacyCompletions)
        {
            choice["text"] = text;
        }
        else
        {
            choice["delta"] = new JsonObject { ["content"] = text };
        }

        choice["finish_reason"] = null;
        var chunk = new JsonObject();
        foreach (var name in (ReadOnlySpan<string>)["id", "created", "model"])
        {
            if (_lastChunk?[name] is { } value)
            {
                chunk[name] = value.DeepClone();
            }
        }

        chunk["object"] = _legacyCompletions ? "text_completion" : "chat.completion.chunk";
        chunk["choices"] = new JsonArray(choice);
        return ("", chunk);
    }

    /// <summary>The batch, then its one verdict; what it says is held back is kept for a fail-open release.</summary>
    private async ValueTask<StreamVerdict> CheckAsync()
    {
        try
        {
            return await ExchangeAsync();
        }
        catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException)
        {
            // A write on a call whose connection is gone (the service died) throws the transport's
            // exception rather than an RpcException; it means the same as Unavailable.
            throw new RpcException(new Status(StatusCode.Unavailable, $"The guardrails stream broke: {e.Message}", e));
        }
    }

    private async ValueTask<StreamVerdict> ExchangeAsync()
    {
        if (!_contextSent)
        {
            await _call.RequestStream.WriteAsync(new StreamChunk { Context = _context }, _aborted);
            _contextSent = true;
        }

        RoundTrips++;
        await _call.RequestStream.WriteAsync(new StreamChunk { Batch = _batch }, _aborted);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_aborted);
        deadline.CancelAfter(_timeout);
        if (!await _call.ResponseStream.MoveNext(deadline.Token))
        {
            throw new RpcException(new Status(StatusCode.Internal, "The guardrails stream ended without a verdict."));
        }

        var verdict = _call.ResponseStream.Current;
        if (verdict.Verdict != Verdict.Block && verdict.Texts.Count != _batch.Deltas.Count)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"The guardrails verdict has {verdict.Texts.Count} texts for {_batch.Deltas.Count} deltas."));
        }

        GuardrailsOutage.AddFindings(Findings, verdict.Findings, GuardrailStage.Output);
        _held.Clear();
        foreach (var (index, text) in verdict.Held)
        {
            _held[index] = text;
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

    private static void WriteEvent(PipeWriter output, (string Name, JsonObject Json) evt)
    {
        var (eventName, json) = evt;
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

    /// <summary>One complete event of a read: where it is in the pending bytes, its JSON, and where its deltas' texts go.</summary>
    private sealed class GuardedEvent(int start, int length, string name)
    {
        public int Start { get; } = start;

        public int Length { get; } = length;

        public string Name { get; } = name;

        public JsonObject? Json { get; set; }

        /// <summary>Text deltas of this event: the batch position of each and the JSON property that receives its text.</summary>
        public List<(int Delta, JsonObject Holder, string Key, bool HadText)> Texts { get; } = [];

        /// <summary>Ends of choices this event brings (<c>content_block_stop</c>, <c>[DONE]</c>): their flushed text goes in an event of its own before this one.</summary>
        public List<(int Delta, int Index)> Flushes { get; } = [];
    }
}

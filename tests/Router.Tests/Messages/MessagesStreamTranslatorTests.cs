using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Messages;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Tests.Messages;

public sealed class MessagesStreamTranslatorTests
{
    private const string Model = "gpt-4o-mini";

    private const string Head = """{"id":"chatcmpl-AzBy7","object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_06737a9306","created":1741570283""";

    /// <summary>A text answer as OpenAI streams it with <c>include_usage</c>: usage after the finish chunk, then [DONE].</summary>
    internal static readonly string[] TextChunks =
    [
        Head + ""","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"content":" \"world\" <ok>\n"},"logprobs":null,"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}""",
        Head + ""","choices":[],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0}}}""",
        "[DONE]",
    ];

    /// <summary>Text, then two tool calls whose arguments arrive in fragments.</summary>
    internal static readonly string[] ToolChunks =
    [
        Head + ""","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"content":"Let me check."},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_Dn2RJJSxzDm49vlVTehseJ0k","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Paris\"}"}}]},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_bF4dXFTWqfLTnLdxmVqLsb6Q","type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":\"Europe/Paris\"}"}}]},"finish_reason":null}],"usage":null}""",
        Head + ""","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}""",
        Head + ""","choices":[],"usage":{"prompt_tokens":82,"completion_tokens":41,"total_tokens":123}}""",
        "[DONE]",
    ];

    internal static string Sse(IEnumerable<string> chunks) => string.Concat(chunks.Select(c => $"data: {c}\n\n"));

    /// <summary>Feeds whole events straight to the translator, then completes it.</summary>
    private static (List<(string Name, JsonElement Data)> Events, MessagesStreamTranslator Translator) Run(IEnumerable<string> chunks, bool complete = true)
    {
        var translator = new MessagesStreamTranslator(Model);
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in chunks)
        {
            translator.OnEvent(default, Encoding.UTF8.GetBytes(chunk), output);
        }

        if (complete)
        {
            translator.Complete(output);
        }

        return (ParseEvents(Encoding.UTF8.GetString(output.WrittenSpan)), translator);
    }

    /// <summary>Runs an OpenAI SSE byte stream through <see cref="SseEventParser"/> in reads of <paramref name="readSize"/> bytes.</summary>
    internal static string RunBytes(byte[] upstream, int readSize, MessagesStreamTranslator translator)
    {
        var output = new ArrayBufferWriter<byte>();
        using var parser = new SseEventParser(translator);
        for (var at = 0; at < upstream.Length; at += readSize)
        {
            parser.Process(upstream.AsSpan(at, Math.Min(readSize, upstream.Length - at)), output);
        }

        parser.Complete(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>Splits Anthropic's named events; asserts each data's <c>type</c> equals its event name, as Anthropic sends them.</summary>
    internal static List<(string Name, JsonElement Data)> ParseEvents(string sse)
    {
        var events = new List<(string, JsonElement)>();
        foreach (var block in sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
            var name = lines[0]["event: ".Length..];
            var data = JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement;
            Assert.Equal(name, data.GetProperty("type").GetString());
            events.Add((name, data));
        }

        return events;
    }

    [Fact]
    public void Text_stream_becomes_anthropics_event_sequence()
    {
        var (events, translator) = Run(TextChunks);

        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Name));

        var message = events[0].Data.GetProperty("message");
        Assert.Equal("msg_AzBy7", message.GetProperty("id").GetString());
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(Model, message.GetProperty("model").GetString());
        Assert.Equal(0, message.GetProperty("content").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_reason").ValueKind);
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_sequence").ValueKind);
        Assert.Equal(0, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(0, message.GetProperty("usage").GetProperty("output_tokens").GetInt32());

        Assert.Equal(0, events[1].Data.GetProperty("index").GetInt32());
        Assert.Equal("""{"type":"text","text":""}""", events[1].Data.GetProperty("content_block").GetRawText());
        Assert.Equal(0, events[2].Data.GetProperty("index").GetInt32());
        Assert.Equal("text_delta", events[2].Data.GetProperty("delta").GetProperty("type").GetString());
        Assert.Equal("Hello", events[2].Data.GetProperty("delta").GetProperty("text").GetString());
        Assert.Equal(" \"world\" <ok>\n", events[3].Data.GetProperty("delta").GetProperty("text").GetString());
        Assert.Equal(0, events[4].Data.GetProperty("index").GetInt32());

        var delta = events[5].Data;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, delta.GetProperty("delta").GetProperty("stop_sequence").ValueKind);
        var usage = delta.GetProperty("usage");
        Assert.Equal(93, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(1024, usage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("cache_creation_input_tokens").GetInt32());
        Assert.Equal(46, usage.GetProperty("output_tokens").GetInt32());

        Assert.Equal(new TokenUsage(1117, 46, 1024) { ReasoningTokens = 12 }, translator.Usage);
    }

    [Fact]
    public void Message_ends_at_the_usage_chunk_that_follows_the_finish_reason()
    {
        var translator = new MessagesStreamTranslator(Model);
        var output = new ArrayBufferWriter<byte>();
        foreach (var chunk in TextChunks[..4])
        {
            translator.OnEvent(default, Encoding.UTF8.GetBytes(chunk), output);
        }

        // The finish chunk closes the block, but stop reason and usage wait for the usage chunk.
        Assert.Equal("content_block_stop", ParseEvents(Encoding.UTF8.GetString(output.WrittenSpan))[^1].Name);

        translator.OnEvent(default, Encoding.UTF8.GetBytes(TextChunks[4]), output);
        var afterUsage = Encoding.UTF8.GetString(output.WrittenSpan);
        Assert.Equal(["message_delta", "message_stop"], ParseEvents(afterUsage)[^2..].Select(e => e.Name));

        translator.OnEvent(default, "[DONE]"u8, output);
        translator.Complete(output);
        Assert.Equal(afterUsage, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Tool_calls_become_tool_use_blocks_with_their_argument_fragments_as_input_json_deltas()
    {
        var (events, translator) = Run(ToolChunks);

        Assert.Equal(
            [
                "message_start",
                "content_block_start", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop",
                "message_delta", "message_stop",
            ],
            events.Select(e => e.Name));

        Assert.Equal("Let me check.", events[2].Data.GetProperty("delta").GetProperty("text").GetString());
        Assert.Equal(0, events[3].Data.GetProperty("index").GetInt32());

        Assert.Equal(1, events[4].Data.GetProperty("index").GetInt32());
        Assert.Equal(
            """{"type":"tool_use","id":"call_Dn2RJJSxzDm49vlVTehseJ0k","name":"get_weather","input":{},"caller":{"type":"direct"}}""",
            events[4].Data.GetProperty("content_block").GetRawText());
        Assert.All(events[5..7], e => Assert.Equal(1, e.Data.GetProperty("index").GetInt32()));
        Assert.All(events[5..7], e => Assert.Equal("input_json_delta", e.Data.GetProperty("delta").GetProperty("type").GetString()));
        var arguments = string.Concat(events[5..7].Select(e => e.Data.GetProperty("delta").GetProperty("partial_json").GetString()));
        Assert.Equal("{\"city\": \"Paris\"}", arguments);
        Assert.Equal(1, events[7].Data.GetProperty("index").GetInt32());

        Assert.Equal(2, events[8].Data.GetProperty("index").GetInt32());
        Assert.Equal("call_bF4dXFTWqfLTnLdxmVqLsb6Q", events[8].Data.GetProperty("content_block").GetProperty("id").GetString());
        Assert.Equal("get_time", events[8].Data.GetProperty("content_block").GetProperty("name").GetString());
        Assert.Equal("{\"tz\":\"Europe/Paris\"}", events[9].Data.GetProperty("delta").GetProperty("partial_json").GetString());
        Assert.Equal(2, events[10].Data.GetProperty("index").GetInt32());

        Assert.Equal("tool_use", events[11].Data.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(82, events[11].Data.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(41, events[11].Data.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(new TokenUsage(82, 41, 0), translator.Usage);
    }

    [Fact]
    public void Upstream_that_ends_without_done_still_gets_a_well_formed_end_on_complete()
    {
        var (events, translator) = Run(TextChunks[..5]);

        Assert.Equal(["message_delta", "message_stop"], events[^2..].Select(e => e.Name));
        Assert.Equal(1117, translator.Usage?.PromptTokens);
    }

    [Fact]
    public void Upstream_that_ends_mid_block_without_usage_gets_the_block_closed_and_end_turn()
    {
        var (events, translator) = Run(TextChunks[..2]);

        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Name));
        Assert.Equal("end_turn", events[4].Data.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(0, events[4].Data.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Null(translator.Usage);
    }

    [Fact]
    public void Length_finish_without_a_usage_chunk_ends_at_done_with_max_tokens()
    {
        string[] chunks =
        [
            Head + ""","choices":[{"index":0,"delta":{"role":"assistant","content":"Once upon"},"finish_reason":null}]}""",
            Head + ""","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}""",
            "[DONE]",
        ];

        var (events, _) = Run(chunks, complete: false);

        Assert.Equal("message_stop", events[^1].Name);
        Assert.Equal("max_tokens", events[^2].Data.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Usage_in_the_finish_chunk_itself_ends_the_message_there()
    {
        string[] chunks =
        [
            Head + ""","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}""",
            Head + ""","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}""",
        ];

        var (events, _) = Run(chunks, complete: false);

        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], events[^3..].Select(e => e.Name));
        Assert.Equal(5, events[^2].Data.GetProperty("usage").GetProperty("input_tokens").GetInt32());
    }

    [Fact]
    public void Bytes_split_anywhere_give_the_same_events_as_whole_events()
    {
        var upstream = Encoding.UTF8.GetBytes(Sse(TextChunks.Take(3).Concat(ToolChunks.Skip(2))).Replace("\n\n", "\r\n\r\n", StringComparison.Ordinal));
        var whole = RunBytes(upstream, upstream.Length, new MessagesStreamTranslator(Model));

        foreach (var readSize in new[] { 1, 2, 7, 64, 333 })
        {
            Assert.Equal(whole, RunBytes(upstream, readSize, new MessagesStreamTranslator(Model)));
        }

        Assert.Contains("event: message_stop", whole, StringComparison.Ordinal);
        Assert.Equal(1, ParseEvents(whole).Count(e => e.Name == "message_stop"));
    }

    [Fact]
    public void In_stream_error_becomes_an_anthropic_error_event_and_ends_the_stream()
    {
        string[] chunks =
        [
            TextChunks[1],
            """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""",
            TextChunks[2],
            "[DONE]",
        ];

        var (events, _) = Run(chunks);

        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "error"], events.Select(e => e.Name));
        var error = events[^1].Data.GetProperty("error");
        Assert.Equal("api_error", error.GetProperty("type").GetString());
        Assert.Equal("The server had an error while processing your request. Sorry about that!", error.GetProperty("message").GetString());
    }

    [Fact]
    public void Fail_ends_a_broken_off_stream_with_an_error_event_instead_of_message_stop()
    {
        var translator = new MessagesStreamTranslator(Model);
        var output = new ArrayBufferWriter<byte>();
        translator.OnEvent(default, Encoding.UTF8.GetBytes(TextChunks[1]), output);

        translator.Fail(output, "The upstream provider stopped sending for 60 s.");
        translator.Complete(output);

        var events = ParseEvents(Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "error"], events.Select(e => e.Name));
        Assert.Equal("The upstream provider stopped sending for 60 s.", events[^1].Data.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void Event_that_is_not_json_becomes_an_error_event()
    {
        var (events, _) = Run([TextChunks[1], "{\"id\":\"chatcmpl-AzBy7\",\"choices\":[{"]);

        Assert.Equal("error", events[^1].Name);
        Assert.Equal("The upstream provider sent a stream event that is not valid JSON.", events[^1].Data.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void Chunks_of_any_shape_never_throw_and_the_stream_stays_well_formed()
    {
        foreach (var chunk in new[] { TextChunks[2], ToolChunks[2], ToolChunks[3], TextChunks[3], TextChunks[4] })
        {
            foreach (var variant in JsonMutations.Of(chunk))
            {
                var (events, _) = Run([TextChunks[1], variant, ToolChunks[4], TextChunks[3], TextChunks[4]]);

                Assert.Equal("message_start", events[0].Name);
                Assert.Contains(events[^1].Name, new[] { "message_stop", "error" });
                Assert.Equal(
                    events.Count(e => e.Name == "content_block_start"),
                    events.Count(e => e.Name == "content_block_stop"));
            }
        }
    }

    [Fact]
    public void Tool_calls_without_an_index_are_told_apart_by_their_ids()
    {
        // Some OpenAI-compatible servers send each call whole and leave out the index.
        string[] chunks =
        [
            Head + ""","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":"call_a","type":"function","function":{"name":"ls","arguments":"{\"path\":\"/tmp\"}"}}]},"finish_reason":null}]}""",
            Head + ""","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_b","type":"function","function":{"name":"pwd","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}""",
            "[DONE]",
        ];

        var (events, _) = Run(chunks);

        var starts = events.Where(e => e.Name == "content_block_start").Select(e => e.Data).ToList();
        Assert.Equal(["call_a", "call_b"], starts.Select(s => s.GetProperty("content_block").GetProperty("id").GetString()));
        Assert.Equal([0, 1], starts.Select(s => s.GetProperty("index").GetInt32()));
    }
}

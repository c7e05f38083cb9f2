using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Providers.Anthropic;
using Gateway.Aspire.Router.Providers.Streaming;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

public sealed class AnthropicStreamTranslatorTests
{
    private const long Created = 1_767_225_600;
    private const string Envelope = """ "id":"msg_01XFDUDYJgAACzvnptvVoYEL","object":"chat.completion.chunk","created":1767225600,"model":"claude-sonnet-4-5-20250929" """;

    // message_start: 472 input + 100 cache write + 2048 cache read; message_delta: 12 output in all.
    private static readonly TokenUsage s_textUsage = new(2620, 12, 2048) { CacheWriteTokens = 100 };

    private static string Chunk(string delta, string? finishReason = null, bool usageNull = true) =>
        "{" + Envelope + ""","choices":[{"index":0,"delta":""" + delta
        + ""","logprobs":null,"finish_reason":""" + (finishReason is null ? "null" : $"\"{finishReason}\"") + "}]"
        + (usageNull ? ""","usage":null""" : "") + "}";

    private static (List<string> Events, TokenUsage? Usage) Run(string stream, bool includeUsage, IEnumerable<string>? pieces = null, bool complete = true)
    {
        var translator = new AnthropicStreamTranslator(Created, includeUsage);
        var output = AnthropicStreams.Run(translator, pieces ?? [stream], complete);
        return (AnthropicStreams.DataEvents(output), translator.Usage);
    }

    private static void AssertEvents(IReadOnlyList<string> expected, IReadOnlyList<string> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            if (expected[i] == "[DONE]")
            {
                Assert.Equal("[DONE]", actual[i]);
            }
            else
            {
                JsonAssert.Equal(expected[i], actual[i]);
            }
        }
    }

    /// <summary>The chunks of <see cref="AnthropicStreams.Text"/> up to the usage chunk.</summary>
    private static List<string> TextChunks(bool includeUsage) =>
    [
        Chunk("""{"role":"assistant","content":""}""", usageNull: includeUsage),
        Chunk("""{"content":"Paris is"}""", usageNull: includeUsage),
        Chunk("""{"content":" the capital of France."}""", usageNull: includeUsage),
        Chunk("{}", "stop", usageNull: includeUsage),
    ];

    [Fact]
    public void Text_stream_becomes_the_openai_chunk_sequence_with_usage_and_done()
    {
        var (events, usage) = Run(AnthropicStreams.Text, includeUsage: true);

        AssertEvents(
            [
                .. TextChunks(includeUsage: true),
                "{" + Envelope + ""","choices":[],"usage":{"prompt_tokens":2620,"completion_tokens":12,"total_tokens":2632,"prompt_tokens_details":{"cached_tokens":2048}}}""",
                "[DONE]",
            ],
            events);
        Assert.Equal(s_textUsage, usage);
    }

    [Fact]
    public void Without_include_usage_there_is_no_usage_chunk_and_no_usage_member_but_usage_is_still_tracked()
    {
        var (events, usage) = Run(AnthropicStreams.Text, includeUsage: false);

        AssertEvents([.. TextChunks(includeUsage: false), "[DONE]"], events);
        Assert.Equal(s_textUsage, usage);
    }

    [Fact]
    public void Tool_use_streams_as_indexed_tool_call_deltas_whose_arguments_join_to_the_input()
    {
        var (events, _) = Run(AnthropicStreams.ToolUse, includeUsage: false);

        AssertEvents(
            [
                Chunk("""{"role":"assistant","content":""}""", usageNull: false),
                Chunk("""{"content":"Checking both."}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":""}}]}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":""}}]}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Ly"}}]}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"on\", \"unit\": \"cel"}}]}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"sius\"}"}}]}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":1,"id":"toolu_02","type":"function","function":{"name":"get_weather","arguments":""}}]}""", usageNull: false),
                Chunk("""{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\": \"Nice\"}"}}]}""", usageNull: false),
                Chunk("{}", "tool_calls", usageNull: false),
                "[DONE]",
            ],
            events);

        // What an OpenAI client assembles: each call's argument pieces concatenated form its JSON input.
        var arguments = events.Where(e => e != "[DONE]")
            .Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("tool_calls", out _))
            .Select(d => d.GetProperty("tool_calls")[0])
            .GroupBy(c => c.GetProperty("index").GetInt32())
            .Select(g => string.Concat(g.Select(c => c.GetProperty("function").GetProperty("arguments").GetString())))
            .ToList();
        JsonAssert.Equal("""{"city":"Lyon","unit":"celsius"}""", arguments[0]);
        JsonAssert.Equal("""{"city":"Nice"}""", arguments[1]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void Events_split_at_any_byte_boundary_give_the_same_output(int pieceLength)
    {
        var whole = AnthropicStreams.Run(new AnthropicStreamTranslator(Created, true), [AnthropicStreams.ToolUse]);
        var pieces = AnthropicStreams.ToolUse.Chunk(pieceLength).Select(c => new string(c));

        var split = AnthropicStreams.Run(new AnthropicStreamTranslator(Created, true), pieces);

        Assert.Equal(whole, split);
    }

    [Fact]
    public void Events_split_inside_a_multibyte_character_give_the_same_output()
    {
        var stream = AnthropicStreams.Text.Replace("Paris is", "Paris — c’est", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(stream);
        var whole = new ArrayBufferWriter<byte>();
        var split = new ArrayBufferWriter<byte>();
        using (var parser = new SseEventParser(new AnthropicStreamTranslator(Created, false)))
        {
            parser.Process(bytes, whole);
            parser.Complete(whole);
        }

        using (var parser = new SseEventParser(new AnthropicStreamTranslator(Created, false)))
        {
            foreach (var b in bytes)
            {
                parser.Process([b], split);
            }

            parser.Complete(split);
        }

        Assert.Equal(whole.WrittenSpan.ToArray(), split.WrittenSpan.ToArray());
        Assert.Contains("Paris — c’est", Encoding.UTF8.GetString(split.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_cut_off_before_message_delta_keeps_the_usage_of_message_start_and_writes_no_done()
    {
        var cut = AnthropicStreams.Text[..AnthropicStreams.Text.IndexOf("event: content_block_stop", StringComparison.Ordinal)];

        var (events, usage) = Run(cut, includeUsage: true);

        Assert.Equal(3, events.Count);
        Assert.DoesNotContain("[DONE]", events);
        Assert.Equal(new TokenUsage(2620, 2, 2048) { CacheWriteTokens = 100 }, usage);
    }

    [Fact]
    public void A_stream_cut_off_after_message_delta_keeps_its_output_count()
    {
        var cut = AnthropicStreams.Text[..AnthropicStreams.Text.IndexOf("event: message_stop", StringComparison.Ordinal)];

        var (events, usage) = Run(cut, includeUsage: true);

        Assert.Equal(4, events.Count);
        Assert.Equal(s_textUsage, usage);
    }

    [Fact]
    public void Message_delta_counts_of_input_and_cache_replace_those_of_message_start()
    {
        var stream = AnthropicStreams.Text.Replace(
            "\"usage\":{\"output_tokens\":12}",
            "\"usage\":{\"input_tokens\":480,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2148,\"output_tokens\":12}",
            StringComparison.Ordinal);

        var (_, usage) = Run(stream, includeUsage: true);

        Assert.Equal(new TokenUsage(2628, 12, 2148), usage);
    }

    [Fact]
    public void An_error_event_becomes_an_openai_stream_error_and_ends_the_translation()
    {
        var stream = AnthropicStreams.Text.Replace(
            "event: content_block_stop",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\nevent: content_block_stop",
            StringComparison.Ordinal);

        var (events, usage) = Run(stream, includeUsage: true);

        Assert.Equal(4, events.Count);
        JsonAssert.Equal("""{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}""", events[3]);
        Assert.Equal(2, usage?.CompletionTokens); // the message_delta after the error was not taken
    }

    [Fact]
    public void Json_response_tool_streams_as_content_and_finishes_with_stop()
    {
        var stream = AnthropicStreams.MessageStart + """
            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01","name":"JSON_TOOL","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"name\": \"Ana\","}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" \"age\": 34}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":20}}

            event: message_stop
            data: {"type":"message_stop"}


            """.Replace("JSON_TOOL", AnthropicRequestTranslator.JsonResponseTool, StringComparison.Ordinal);

        var (events, _) = Run(stream, includeUsage: false);

        AssertEvents(
            [
                Chunk("""{"role":"assistant","content":""}""", usageNull: false),
                Chunk("""{"content":"{\"name\": \"Ana\","}""", usageNull: false),
                Chunk("""{"content":" \"age\": 34}"}""", usageNull: false),
                Chunk("{}", "stop", usageNull: false),
                "[DONE]",
            ],
            events);
    }

    [Fact]
    public void Complete_writes_nothing_after_done_and_nothing_for_a_cut_off_stream()
    {
        var translator = new AnthropicStreamTranslator(Created, true);
        var output = new ArrayBufferWriter<byte>();

        translator.Complete(output);

        Assert.Equal(0, output.WrittenCount);
        Assert.Null(translator.Usage);
    }

    [Fact]
    public void A_malformed_upstream_event_is_invalid_data()
    {
        var translator = new AnthropicStreamTranslator(Created, false);

        Assert.Throws<InvalidDataException>(() => translator.OnEvent("content_block_delta"u8, "{\"type\":\"content_block_delta\",\"ind"u8, new ArrayBufferWriter<byte>()));
    }
}

using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Providers.Streaming;
using Gateway.Aspire.Router.Usage;
using Microsoft.ML.Tokenizers;

namespace Gateway.Aspire.Router.Tests.Usage;

public sealed class TokenEstimatorTests
{
    private const int PerMessage = TokenEstimator.TokensPerMessage;

    private const string WeatherTool = """{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""";

    private const string AnthropicTool = """{"name":"get_weather","description":"Current weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    private static readonly TokenEstimator Estimator = TokenEstimator.Shared;

    private static int Tokens(string text, string model = "gpt-4o") => TokenEstimator.TokenizerFor(model).CountTokens(text);

    private static int Prompt(string json, string model = "gpt-4o") => Estimator.CountPrompt(Encoding.UTF8.GetBytes(json), model);

    private static int Completion(string output, bool stream, string model = "gpt-4o") =>
        Estimator.CountCompletion(Encoding.UTF8.GetBytes(output), stream, model);

    private static string OpenAiStream(params string[] chunks) =>
        string.Concat(chunks.Select(c => $"data: {c}\n\n")) + "data: [DONE]\n\n";

    private static string AnthropicStream(params string[] events) =>
        string.Concat(events.Select(e => $"event: {JsonDocument.Parse(e).RootElement.GetProperty("type").GetString()}\ndata: {e}\n\n"));

    // Published counts: "hello world" is [15339, 1917] in cl100k_base (Tiktoken .NET README); the
    // OpenAI cookbook ("How to count tokens with tiktoken") gives 6 tokens for "tiktoken is great!"
    // in both encodings and 9 (cl100k_base) / 8 (o200k_base) for "お誕生日おめでとう"; the
    // Microsoft.ML.Tokenizers package readme gives 16 for its sample sentence with gpt-4o.
    [Theory]
    [InlineData("hello world", "gpt-4o", 2)]
    [InlineData("hello world", "gpt-4", 2)]
    [InlineData("tiktoken is great!", "gpt-4o", 6)]
    [InlineData("tiktoken is great!", "gpt-3.5-turbo", 6)]
    [InlineData("お誕生日おめでとう", "gpt-4o-mini", 8)]
    [InlineData("お誕生日おめでとう", "gpt-4", 9)]
    [InlineData("Text tokenization is the process of splitting a string into a list of tokens.", "gpt-4o", 16)]
    public void Embedding_input_counts_match_published_tokenizations(string text, string model, int expected)
    {
        Assert.Equal(expected, Prompt($$"""{"model":"{{model}}","input":"{{text}}"}""", model));
    }

    [Theory]
    [InlineData("The gateway forwards each request to the provider that serves the model.", "gpt-4o", 13)]
    [InlineData("The gateway forwards each request to the provider that serves the model.", "gpt-4", 13)]
    [InlineData("Grüße aus Köln: 3 Äpfel kosten 2,50 €.", "gpt-4o", 17)]
    [InlineData("Grüße aus Köln: 3 Äpfel kosten 2,50 €.", "gpt-4", 19)]
    public void Counts_are_pinned_per_encoding(string text, string model, int expected)
    {
        Assert.Equal(expected, Tokens(text, model));
    }

    [Fact]
    public void Count_grows_with_the_text()
    {
        var text = "";
        var previous = 0;
        foreach (var word in "billing needs every token the model read and wrote".Split(' '))
        {
            text += word + " ";
            var count = Prompt($$"""{"input":"{{text}}"}""");
            Assert.True(count > previous, $"'{text}' counted {count}, not more than {previous}");
            previous = count;
        }
    }

    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("gpt-4o-mini-2024-07-18")]
    [InlineData("chatgpt-4o-latest")]
    [InlineData("gpt-4.1-nano")]
    [InlineData("gpt-4.5-preview")]
    [InlineData("o1")]
    [InlineData("o3-mini")]
    [InlineData("o4-mini")]
    [InlineData("gpt-5")]
    [InlineData("gpt-4")]
    [InlineData("gpt-4-turbo-2024-04-09")]
    [InlineData("gpt-3.5-turbo")]
    [InlineData("gpt-35-turbo-16k")]
    [InlineData("text-embedding-3-small")]
    [InlineData("text-embedding-ada-002")]
    [InlineData("ft:gpt-3.5-turbo-0613:acme::8abc")]
    [InlineData("davinci-002")]
    public void Encoding_is_the_one_the_library_assigns_to_openai_models(string model)
    {
        // Japanese text tokenizes differently in o200k_base and cl100k_base.
        const string Probe = "お誕生日おめでとう, hello world";

        Assert.Equal(TiktokenTokenizer.CreateForModel(model).EncodeToIds(Probe), TokenEstimator.TokenizerFor(model).EncodeToIds(Probe));
    }

    [Theory]
    [InlineData("claude-sonnet-4-5", 8)]
    [InlineData("gemini-2.5-pro", 8)]
    [InlineData("meta-llama/Llama-3.1-70B-Instruct", 8)]
    [InlineData("openai/gpt-4", 9)]
    public void Other_models_are_approximated_with_o200k_base(string model, int expected)
    {
        Assert.Equal(expected, Tokens("お誕生日おめでとう", model));
    }

    [Fact]
    public void Openai_chat_counts_text_plus_the_cookbook_overhead()
    {
        var body = $$$"""
            {
              "model": "gpt-4o-mini",
              "temperature": 0.2,
              "messages": [
                {"role": "system", "content": "You answer questions about the weather."},
                {"role": "user", "name": "dana", "content": [
                  {"type": "text", "text": "Is it raining in Lyon?"},
                  {"type": "image_url", "image_url": {"url": "https://example.com/sky.jpg", "detail": "low"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                  {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "Light rain, 14 °C"}
              ],
              "tools": [{{{WeatherTool}}}]
            }
            """;

        var expected =
            PerMessage + Tokens("system") + Tokens("You answer questions about the weather.")
            + PerMessage + Tokens("user") + Tokens("dana") + TokenEstimator.TokensPerName + Tokens("Is it raining in Lyon?") + TokenEstimator.ImageTokens
            + PerMessage + Tokens("assistant") + Tokens("get_weather") + Tokens("""{"city":"Lyon"}""")
            + PerMessage + Tokens("tool") + Tokens("Light rain, 14 °C")
            + Tokens(WeatherTool)
            + TokenEstimator.ReplyPrimingTokens;

        Assert.Equal(expected, Prompt(body, "gpt-4o-mini"));
        Assert.Equal(176, expected);
    }

    [Fact]
    public void Anthropic_request_counts_system_blocks_tools_and_results_but_not_old_thinking()
    {
        var body = $$$"""
            {
              "model": "claude-sonnet-4-5",
              "max_tokens": 1024,
              "system": [{"type": "text", "text": "You are a terse assistant.", "cache_control": {"type": "ephemeral"}}],
              "tools": [{{{AnthropicTool}}}],
              "messages": [
                {"role": "user", "content": "What is the weather in Lyon?"},
                {"role": "assistant", "content": [
                  {"type": "thinking", "thinking": "The user wants the weather, so I call the tool.", "signature": "EqQBCgIYAhIM"},
                  {"type": "text", "text": "Let me check."},
                  {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Lyon"}}
                ]},
                {"role": "user", "content": [
                  {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "Light rain, 14 °C"}]},
                  {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ]}
              ]
            }
            """;

        var expected =
            PerMessage + Tokens("You are a terse assistant.")
            + Tokens(AnthropicTool)
            + PerMessage + Tokens("user") + Tokens("What is the weather in Lyon?")
            + PerMessage + Tokens("assistant") + Tokens("Let me check.") + Tokens("get_weather") + Tokens("""{"city": "Lyon"}""")
            + PerMessage + Tokens("user") + Tokens("Light rain, 14 °C") + TokenEstimator.ImageTokens
            + TokenEstimator.ReplyPrimingTokens;

        Assert.Equal(expected, Prompt(body, "claude-sonnet-4-5"));
    }

    [Fact]
    public void Anthropic_system_string_counts_as_one_message()
    {
        var body = """{"model":"claude-haiku-4-5","max_tokens":64,"system":"Reply in French.","messages":[{"role":"user","content":"Good morning"}]}""";

        Assert.Equal(
            PerMessage + Tokens("Reply in French.") + PerMessage + Tokens("user") + Tokens("Good morning") + TokenEstimator.ReplyPrimingTokens,
            Prompt(body, "claude-haiku-4-5"));
    }

    [Fact]
    public void Completions_prompt_array_counts_each_string_and_each_token_id()
    {
        var body = """{"model":"gpt-3.5-turbo-instruct","prompt":["Say this is a test.","Write a haiku about routers."],"max_tokens":16}""";
        var tokenIds = """{"model":"gpt-3.5-turbo-instruct","prompt":[[1212,318,257,1332],[40]]}""";

        Assert.Equal(Tokens("Say this is a test.", "gpt-4") + Tokens("Write a haiku about routers.", "gpt-4"), Prompt(body, "gpt-3.5-turbo-instruct"));
        Assert.Equal(5, Prompt(tokenIds, "gpt-3.5-turbo-instruct"));
    }

    [Fact]
    public void Embeddings_input_array_counts_each_string_without_overhead()
    {
        var body = """{"model":"text-embedding-3-small","input":["The food was delicious.","The waiter was friendly."],"encoding_format":"float"}""";

        Assert.Equal(
            Tokens("The food was delicious.", "gpt-4") + Tokens("The waiter was friendly.", "gpt-4"),
            Prompt(body, "text-embedding-3-small"));
    }

    [Fact]
    public void Openai_chat_completion_counts_content_tool_names_and_arguments()
    {
        var body = """
            {"id":"chatcmpl-7","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini-2024-07-18",
             "choices":[{"index":0,"message":{"role":"assistant","content":"It is raining in Lyon.","refusal":null,
               "tool_calls":[{"id":"call_2","type":"function","function":{"name":"get_forecast","arguments":"{\"city\":\"Lyon\",\"days\":3}"}}]},
               "logprobs":null,"finish_reason":"tool_calls"}]}
            """;

        Assert.Equal(
            Tokens("It is raining in Lyon.") + Tokens("get_forecast") + Tokens("""{"city":"Lyon","days":3}"""),
            Completion(body, stream: false));
    }

    [Fact]
    public void Text_completion_counts_the_choice_text()
    {
        var body = """{"id":"cmpl-3","object":"text_completion","created":1735689600,"model":"gpt-3.5-turbo-instruct","choices":[{"text":"\n\nThis is indeed a test.","index":0,"logprobs":null,"finish_reason":"stop"}]}""";

        Assert.Equal(Tokens("\n\nThis is indeed a test.", "gpt-4"), Completion(body, stream: false, "gpt-3.5-turbo-instruct"));
    }

    [Fact]
    public void Anthropic_message_counts_thinking_text_and_tool_use()
    {
        var body = """
            {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
             "content":[
               {"type":"thinking","thinking":"I need the forecast first.","signature":"EqQBCgIYAhIM"},
               {"type":"text","text":"I'll look that up."},
               {"type":"tool_use","id":"toolu_02","name":"get_weather","input":{"city":"Lyon"}}],
             "stop_reason":"tool_use","stop_sequence":null}
            """;

        Assert.Equal(
            Tokens("I need the forecast first.") + Tokens("I'll look that up.") + Tokens("get_weather") + Tokens("""{"city":"Lyon"}"""),
            Completion(body, stream: false, "claude-sonnet-4-5"));
    }

    [Fact]
    public void Openai_stream_glues_deltas_of_content_reasoning_and_tool_arguments()
    {
        var stream = OpenAiStream(
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"Checking the fore"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"cast tool."},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"The for"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ecast for Ly"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"on: rain."},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_3","type":"function","function":{"name":"get_forecast","arguments":""}}]},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Ly"}}]},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"on\"}"}}]},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""");

        Assert.Equal(
            Tokens("Checking the forecast tool.") + Tokens("The forecast for Lyon: rain.") + Tokens("get_forecast") + Tokens("""{"city":"Lyon"}"""),
            Completion(stream, stream: true));
    }

    [Fact]
    public void Openai_stream_with_two_choices_keeps_their_interleaved_deltas_apart()
    {
        var stream = OpenAiStream(
            """{"id":"c2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Bonj"}}]}""",
            """{"id":"c2","object":"chat.completion.chunk","choices":[{"index":1,"delta":{"content":"Sal"}}]}""",
            """{"id":"c2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"our à tous"}}]}""",
            """{"id":"c2","object":"chat.completion.chunk","choices":[{"index":1,"delta":{"content":"ut tout le monde"}}]}""");

        Assert.Equal(Tokens("Bonjour à tous") + Tokens("Salut tout le monde"), Completion(stream, stream: true));
    }

    [Fact]
    public void Text_completion_stream_counts_choice_text()
    {
        var stream = OpenAiStream(
            """{"id":"cmpl-4","object":"text_completion","choices":[{"text":"Routers for","index":0,"logprobs":null,"finish_reason":null}]}""",
            """{"id":"cmpl-4","object":"text_completion","choices":[{"text":"ward packets.","index":0,"logprobs":null,"finish_reason":"stop"}]}""");

        Assert.Equal(Tokens("Routers forward packets.", "gpt-4"), Completion(stream, stream: true, "gpt-3.5-turbo-instruct"));
    }

    private static readonly string[] AnthropicEvents =
    [
        """{"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":42,"output_tokens":1}}}""",
        """{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}""",
        """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants the wea"}}""",
        """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"ther in Lyon."}}""",
        """{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}""",
        """{"type":"content_block_stop","index":0}""",
        """{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}""",
        """{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me ch"}}""",
        """{"type":"ping"}""",
        """{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"eck the weather."}}""",
        """{"type":"content_block_stop","index":1}""",
        """{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_03","name":"get_weather","input":{}}}""",
        """{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}""",
        """{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Ly"}}""",
        """{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"on\"}"}}""",
        """{"type":"content_block_stop","index":2}""",
        """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":61}}""",
        """{"type":"message_stop"}""",
    ];

    [Fact]
    public void Anthropic_stream_counts_thinking_text_and_tool_input_deltas()
    {
        Assert.Equal(
            Tokens("The user wants the weather in Lyon.") + Tokens("Let me check the weather.") + Tokens("get_weather") + Tokens("""{"city": "Lyon"}"""),
            Completion(AnthropicStream(AnthropicEvents), stream: true, "claude-sonnet-4-5"));
    }

    [Fact]
    public void Cut_off_stream_ignores_its_partial_last_event()
    {
        var stream = AnthropicStream(AnthropicEvents[..8]);
        var partial = stream + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"eck the wea";
        var lineButNoBlankLine = stream + $"event: content_block_delta\ndata: {AnthropicEvents[9]}\n";
        var expected = Tokens("The user wants the weather in Lyon.") + Tokens("Let me ch");

        Assert.Equal(expected, Completion(partial, stream: true, "claude-sonnet-4-5"));
        // The event-stream spec discards an event not closed by a blank line; so did the client.
        Assert.Equal(expected, Completion(lineButNoBlankLine, stream: true, "claude-sonnet-4-5"));
    }

    [Fact]
    public void Stream_cut_at_any_byte_counts_without_throwing()
    {
        var stream = Encoding.UTF8.GetBytes(AnthropicStream(AnthropicEvents));
        var full = Estimator.CountCompletion(stream, stream: true, "claude-sonnet-4-5");

        for (var cut = 0; cut <= stream.Length; cut++)
        {
            var count = Estimator.CountCompletion(stream.AsSpan(0, cut), stream: true, "claude-sonnet-4-5");
            Assert.InRange(count, 0, full + 2);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json at all")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"Hel")]
    [InlineData("[1, 2, 3]")]
    [InlineData("\"just a string\"")]
    [InlineData("null")]
    public void Request_that_is_not_a_json_object_counts_as_text(string body)
    {
        Assert.Equal(Tokens(body), Prompt(body));
    }

    [Theory]
    [InlineData("""{"messages": "hello"}""", 3)]
    [InlineData("""{"messages": [5, null, {"role": 7, "content": {"text": "x"}, "name": false}]}""", 6)]
    [InlineData("""{"messages": [{"content": [{"type": {"nested": 1}, "text": 12}, 3, [1]]}]}""", 6)]
    [InlineData("""{"tools": {"not": "an array"}, "prompt": [[1, 2], [3], {"x": 1}, true]}""", 3)]
    [InlineData("""{"input": [[], [[]], ""]}""", 0)]
    [InlineData("""{"messages": [{"role": "assistant", "tool_calls": [1, {"function": "x"}, {"function": {"name": 5, "arguments": {"city": "Lyon"}}}]}]}""", 14)]
    public void Odd_request_shapes_count_what_they_can(string body, int expected)
    {
        Assert.Equal(expected, Prompt(body));
    }

    [Fact]
    public void Garbage_bytes_never_throw()
    {
        var random = new Random(3);
        var deep = Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000));
        var invalidUtf8 = new byte[] { 0x7B, 0x22, 0x69, 0x6E, 0x70, 0x75, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D };
        var inputs = new List<byte[]> { deep, invalidUtf8, new byte[] { 0xFF, 0xFE, 0x00 } };
        for (var i = 0; i < 50; i++)
        {
            var bytes = new byte[random.Next(1, 300)];
            random.NextBytes(bytes);
            inputs.Add(bytes);
        }

        foreach (var input in inputs)
        {
            Assert.True(Estimator.CountPrompt(input, "gpt-4o") >= 0);
            Assert.True(Estimator.CountCompletion(input, stream: false, "gpt-4o") >= 0);
            Assert.True(Estimator.CountCompletion(input, stream: true, "gpt-4o") >= 0);
        }
    }

    [Fact]
    public void Invalid_utf8_in_strings_counts_as_replacement_characters()
    {
        byte[] plain = [.. "{\"input\":\"caf"u8, 0xFF, .. "\"}"u8];
        byte[] escaped = [.. "{\"input\":\"caf\\n"u8, 0xFF, .. "\"}"u8];

        Assert.Equal(Tokens("caf\uFFFD"), Estimator.CountPrompt(plain, "gpt-4o"));
        // The reader cannot unescape it; its raw text is counted instead.
        Assert.Equal(Tokens("caf\\n\uFFFD"), Estimator.CountPrompt(escaped, "gpt-4o"));
    }

    [Theory]
    [InlineData("data: {\"choices\": 5}\n\ndata: {\"choices\": [1, {\"delta\": 2}]}\n\n")]
    [InlineData("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":\"x\",\"function\":{\"arguments\":7,\"name\":[1]}}]}}]}\n\n")]
    [InlineData("event: content_block_delta\ndata: {\"index\": 99999999999, \"delta\": {\"text\": 5}}\n\n")]
    [InlineData("data: {\"choices\": [{\"delta\": {\"content\": \"ok\"}}]\n\ndata: \n\n: keep-alive\n\ndata: {]}\n\n")]
    public void Odd_stream_events_are_skipped(string stream)
    {
        Assert.InRange(Completion(stream, stream: true), 0, 1);
    }

    [Fact]
    public void Stream_line_over_the_parser_limit_keeps_what_came_before()
    {
        var stream = OpenAiStream("""{"id":"c5","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Before the flood."}}]}""")
            + "data: " + new string('x', SseEventParser.MaxEventBytes + 1);

        Assert.Equal(Tokens("Before the flood."), Completion(stream, stream: true));
    }

    [Fact]
    public void Streams_with_many_indexes_share_a_bounded_set_of_pieces()
    {
        var events = Enumerable.Range(0, 200).Select(i => $$$"""{"type":"content_block_delta","index":{{{i}}},"delta":{"type":"text_delta","text":"word "}}""");

        // Blocks 0 to 62 keep their own piece; block 63 and all later ones share the last.
        Assert.Equal(
            63 * Tokens("word ") + Tokens(string.Concat(Enumerable.Repeat("word ", 137))),
            Completion(AnthropicStream([.. events]), stream: true, "claude-sonnet-4-5"));
    }

    [Fact]
    public void Non_stream_completion_that_is_not_json_counts_as_text()
    {
        const string Cut = """{"id":"chatcmpl-8","choices":[{"index":0,"message":{"role":"assistant","content":"Half an ans""";

        Assert.Equal(Tokens(Cut), Completion(Cut, stream: false));
    }

    [Fact]
    public void Long_text_is_windowed_exactly_and_past_the_budget_extrapolated()
    {
        var sentences = new[] { "Routers forward requests to providers. ", "Usage is billed per million tokens, 3 dollars in and 15 out. ", "Streams may end early when a client disconnects.\n" };
        var builder = new StringBuilder();
        for (var i = 0; builder.Length < 600_000; i++)
        {
            builder.Append(sentences[i % sentences.Length]).Append(i).Append(' ');
        }

        var text = builder.ToString();
        var windowed = text[..50_000];

        Assert.Equal(Tokens(windowed), Prompt($$$"""{"input":"{{{windowed.Replace("\n", "\\n", StringComparison.Ordinal)}}}"}"""));
        var exact = Tokens(text);
        var estimate = Prompt($$$"""{"input":"{{{text.Replace("\n", "\\n", StringComparison.Ordinal)}}}"}""");
        Assert.InRange(estimate, exact * 0.99, exact * 1.01);
    }

    [Fact]
    public void Long_runs_without_spaces_finish_quickly()
    {
        var body = $$"""{"input":"{{new string('a', 2_000_000)}}"}""";

        var started = TimeProvider.System.GetTimestamp();
        var count = Prompt(body);

        Assert.InRange(count, 200_000, 300_000);
        // In one piece this run would take tens of minutes (byte-pair merging is quadratic in a word's length).
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }
}

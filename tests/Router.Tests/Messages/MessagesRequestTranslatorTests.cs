using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.Router.Messages;
using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Tests.Messages;

public sealed class MessagesRequestTranslatorTests
{
    private static JsonElement Translate(string anthropicRequest)
    {
        var body = MessagesRequestTranslator.Translate(Encoding.UTF8.GetBytes(anthropicRequest));
        return JsonDocument.Parse(body).RootElement;
    }

    private static JsonElement Message(JsonElement request, int index) => request.GetProperty("messages")[index];

    [Fact]
    public void System_string_messages_and_sampling_parameters_map_to_their_openai_names()
    {
        var request = Translate("""
            {
              "model": "gpt-4o-mini",
              "max_tokens": 1024,
              "system": "You answer in one sentence.",
              "messages": [{"role": "user", "content": "Why is the sky blue?"}],
              "temperature": 0.2,
              "top_p": 0.9,
              "top_k": 40,
              "stop_sequences": ["\n\nQ:", "END"],
              "metadata": {"user_id": "13803d75-b4b5-4c3e-b2a2-6f21399b021b"}
            }
            """);

        Assert.Equal("gpt-4o-mini", request.GetProperty("model").GetString());
        Assert.Equal(2, request.GetProperty("messages").GetArrayLength());
        Assert.Equal("system", Message(request, 0).GetProperty("role").GetString());
        Assert.Equal("You answer in one sentence.", Message(request, 0).GetProperty("content").GetString());
        Assert.Equal("user", Message(request, 1).GetProperty("role").GetString());
        Assert.Equal("Why is the sky blue?", Message(request, 1).GetProperty("content").GetString());
        Assert.Equal(1024, request.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.2, request.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, request.GetProperty("top_p").GetDouble());
        Assert.Equal(["\n\nQ:", "END"], request.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("13803d75-b4b5-4c3e-b2a2-6f21399b021b", request.GetProperty("user").GetString());
        Assert.False(request.TryGetProperty("top_k", out _));
        Assert.False(request.TryGetProperty("stream", out _));
        Assert.False(request.TryGetProperty("stream_options", out _));
        Assert.False(request.TryGetProperty("max_completion_tokens", out _));
    }

    [Fact]
    public void System_text_blocks_are_joined_into_one_system_message_and_cache_control_is_dropped()
    {
        var request = Translate("""
            {
              "model": "gpt-4o", "max_tokens": 256,
              "system": [
                {"type": "text", "text": "You are a release-notes writer.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Use British spelling."}
              ],
              "messages": [{"role": "user", "content": [{"type": "text", "text": "Summarise v2.1"}, {"type": "text", "text": "Keep it short."}]}]
            }
            """);

        Assert.Equal("You are a release-notes writer.\nUse British spelling.", Message(request, 0).GetProperty("content").GetString());
        Assert.Equal("Summarise v2.1\nKeep it short.", Message(request, 1).GetProperty("content").GetString());
        Assert.DoesNotContain("cache_control", request.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Images_become_image_url_parts_with_base64_as_data_urls()
    {
        var request = Translate("""
            {
              "model": "gpt-4o", "max_tokens": 300,
              "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Compare these two charts."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/charts/q3.jpg"}}
              ]}]
            }
            """);

        var parts = Message(request, 0).GetProperty("content");
        Assert.Equal(3, parts.GetArrayLength());
        Assert.Equal("text", parts[0].GetProperty("type").GetString());
        Assert.Equal("Compare these two charts.", parts[0].GetProperty("text").GetString());
        Assert.Equal("image_url", parts[1].GetProperty("type").GetString());
        Assert.Equal(
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==",
            parts[1].GetProperty("image_url").GetProperty("url").GetString());
        Assert.Equal("https://example.com/charts/q3.jpg", parts[2].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public void Tool_use_and_tool_result_round_trip_with_tool_messages_before_the_rest_of_the_user_turn()
    {
        var request = Translate("""
            {
              "model": "gpt-4o", "max_tokens": 1024,
              "tools": [{"name": "get_weather", "description": "Current weather for a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
              "messages": [
                {"role": "user", "content": "Weather in Paris and Rome? Umbrella needed?"},
                {"role": "assistant", "content": [
                  {"type": "thinking", "thinking": "Two cities, two calls.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
                  {"type": "text", "text": "I'll check both."},
                  {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris"}},
                  {"type": "tool_use", "id": "toolu_01B18r81rx81mr826724mr8", "name": "get_weather", "input": {"city": "Rome", "units": {"temp": "C"}}}
                ]},
                {"role": "user", "content": [
                  {"type": "text", "text": "Also: should I take an umbrella?"},
                  {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "18°C, light rain"},
                  {"type": "tool_result", "tool_use_id": "toolu_01B18r81rx81mr826724mr8", "is_error": true, "content": [{"type": "text", "text": "weather service timed out"}, {"type": "text", "text": "retry later"}]}
                ]}
              ]
            }
            """);

        var messages = request.GetProperty("messages");
        Assert.Equal(["user", "assistant", "tool", "tool", "user"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));

        var assistant = messages[1];
        Assert.Equal("I'll check both.", assistant.GetProperty("content").GetString());
        var calls = assistant.GetProperty("tool_calls");
        Assert.Equal(2, calls.GetArrayLength());
        Assert.Equal("toolu_01A09q90qw90lq917835lq9", calls[0].GetProperty("id").GetString());
        Assert.Equal("function", calls[0].GetProperty("type").GetString());
        Assert.Equal("get_weather", calls[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", calls[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("""{"city":"Rome","units":{"temp":"C"}}""", calls[1].GetProperty("function").GetProperty("arguments").GetString());
        Assert.DoesNotContain("Two cities", request.GetRawText(), StringComparison.Ordinal);

        Assert.Equal("toolu_01A09q90qw90lq917835lq9", messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("18°C, light rain", messages[2].GetProperty("content").GetString());
        Assert.Equal("toolu_01B18r81rx81mr826724mr8", messages[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("Error: weather service timed out\nretry later", messages[3].GetProperty("content").GetString());
        Assert.Equal("Also: should I take an umbrella?", messages[4].GetProperty("content").GetString());

        var tool = request.GetProperty("tools")[0];
        Assert.Equal("function", tool.GetProperty("type").GetString());
        Assert.Equal("get_weather", tool.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("Current weather for a city", tool.GetProperty("function").GetProperty("description").GetString());
        Assert.Equal("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""", tool.GetProperty("function").GetProperty("parameters").GetRawText());
        Assert.False(request.TryGetProperty("tool_choice", out _));
    }

    [Fact]
    public void A_user_turn_of_only_tool_results_adds_no_user_message_and_tool_result_images_follow_as_a_user_message()
    {
        var request = Translate("""
            {
              "model": "gpt-4o", "max_tokens": 1024,
              "messages": [
                {"role": "user", "content": "Take a screenshot"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_shot", "name": "screenshot", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_shot", "content": [
                  {"type": "text", "text": "Captured 1280x800"},
                  {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}}
                ]}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_ls", "name": "list_files", "input": {"path": "."}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_ls"}]}
              ]
            }
            """);

        var messages = request.GetProperty("messages");
        Assert.Equal(["user", "assistant", "tool", "user", "assistant", "tool"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(JsonValueKind.Null, messages[1].GetProperty("content").ValueKind);
        Assert.Equal("{}", messages[1].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("Captured 1280x800", messages[2].GetProperty("content").GetString());
        var moved = messages[3].GetProperty("content");
        Assert.Equal(1, moved.GetArrayLength());
        Assert.Equal("data:image/jpeg;base64,/9j/4AAQSkZJRg==", moved[0].GetProperty("image_url").GetProperty("url").GetString());
        Assert.Equal("", messages[5].GetProperty("content").GetString());
    }

    [Fact]
    public void An_assistant_turn_of_only_thinking_is_dropped()
    {
        var request = Translate("""
            {"model": "gpt-4o", "max_tokens": 64, "messages": [
              {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"}]},
              {"role": "user", "content": "Hello?"}
            ]}
            """);

        Assert.Equal(["user", "user"], request.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
    }

    [Fact]
    public void System_role_messages_stay_system_messages_in_place()
    {
        var request = Translate("""
            {"model": "gpt-4o", "max_tokens": 64, "system": "You are a support agent.", "messages": [
              {"role": "user", "content": "My order is late."},
              {"role": "system", "content": [{"type": "text", "text": "The customer is on the premium plan."}]},
              {"role": "assistant", "content": "Sorry to hear that."}
            ]}
            """);

        var messages = request.GetProperty("messages");
        Assert.Equal(["system", "user", "system", "assistant"], messages.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("The customer is on the premium plan.", messages[2].GetProperty("content").GetString());
    }

    [Fact]
    public void Structured_output_format_and_strict_tools_map_to_response_format_and_strict_functions()
    {
        var request = Translate("""
            {"model": "gpt-4o", "max_tokens": 256,
             "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}}},
             "tools": [{"name": "lookup", "strict": true, "input_schema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"], "additionalProperties": false}}],
             "messages": [{"role": "user", "content": "Extract the name from: Ada Lovelace wrote the first program."}]}
            """);

        var format = request.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("output", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        Assert.Equal(
            """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}""",
            format.GetProperty("json_schema").GetProperty("schema").GetRawText());
        Assert.True(request.GetProperty("tools")[0].GetProperty("function").GetProperty("strict").GetBoolean());
        Assert.DoesNotContain("effort", request.GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type": "auto"}""", "\"auto\"", null)]
    [InlineData("""{"type": "any"}""", "\"required\"", null)]
    [InlineData("""{"type": "none"}""", "\"none\"", null)]
    [InlineData("""{"type": "tool", "name": "get_weather"}""", """{"type":"function","function":{"name":"get_weather"}}""", null)]
    [InlineData("""{"type": "auto", "disable_parallel_tool_use": true}""", "\"auto\"", false)]
    [InlineData("""{"type": "any", "disable_parallel_tool_use": false}""", "\"required\"", null)]
    public void Tool_choice_maps_to_openai_tool_choice_and_parallel_tool_calls(string toolChoice, string expected, bool? parallel)
    {
        var request = Translate($$$"""
            {"model": "gpt-4o", "max_tokens": 64,
             "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": { } } }],
             "tool_choice": {{{toolChoice}}},
             "messages": [{"role": "user", "content": "Weather?"}]}
            """);

        Assert.Equal(expected, request.GetProperty("tool_choice").GetRawText());
        Assert.Equal(parallel, request.TryGetProperty("parallel_tool_calls", out var value) ? value.GetBoolean() : null);
        Assert.False(request.GetProperty("tools")[0].GetProperty("function").TryGetProperty("description", out _));
    }

    [Fact]
    public void Tool_choice_without_tools_is_not_sent_because_openai_rejects_it()
    {
        var request = Translate("""{"model": "gpt-4o", "max_tokens": 64, "tools": [], "tool_choice": {"type": "none"}, "messages": [{"role": "user", "content": "Hi"}]}""");

        Assert.False(request.TryGetProperty("tools", out _));
        Assert.False(request.TryGetProperty("tool_choice", out _));
    }

    [Fact]
    public void Stream_true_asks_for_usage_and_the_router_inspector_reads_the_result()
    {
        var body = MessagesRequestTranslator.Translate("""
            {"model": "openai/gpt-4o-mini", "max_tokens": 512, "stream": true, "messages": [{"role": "user", "content": "Count to 3"}]}
            """u8);

        var request = JsonDocument.Parse(body).RootElement;
        Assert.True(request.GetProperty("stream").GetBoolean());
        Assert.True(request.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.True(ChatRequestInspector.TryInspect(body, out var info, out var error), error);
        Assert.Equal("openai/gpt-4o-mini", info.Model);
        Assert.True(info.Stream);
        Assert.True(info.IncludeUsage);
        Assert.Equal(512, info.MaxTokens);
    }

    [Fact]
    public void Stream_false_adds_no_stream_options()
    {
        var request = Translate("""{"model": "gpt-4o", "max_tokens": 8, "stream": false, "messages": [{"role": "user", "content": "Hi"}]}""");

        Assert.False(request.GetProperty("stream").GetBoolean());
        Assert.False(request.TryGetProperty("stream_options", out _));
    }

    [Fact]
    public void Any_value_of_the_wrong_type_anywhere_gives_a_translation_exception_never_another_exception()
    {
        const string valid = """
            {"model": "gpt-4o", "max_tokens": 64, "system": [{"type": "text", "text": "S"}], "temperature": 1, "top_p": 0.5,
             "stop_sequences": ["X"], "stream": true, "metadata": {"user_id": "u"}, "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
             "tools": [{"name": "f", "description": "d", "strict": false, "input_schema": {"type": "object"}}],
             "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true},
             "messages": [
               {"role": "system", "content": "S2"},
               {"role": "user", "content": [{"type": "text", "text": "T"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]},
               {"role": "assistant", "content": [{"type": "text", "text": "A"}, {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": false, "content": [{"type": "text", "text": "R"}, {"type": "image", "source": {"type": "url", "url": "https://example.com/i.png"}}]}]}
             ]}
            """;
        var variants = 0;
        foreach (var variant in JsonMutations.Of(valid))
        {
            variants++;
            try
            {
                JsonDocument.Parse(MessagesRequestTranslator.Translate(Encoding.UTF8.GetBytes(variant))).Dispose();
            }
            catch (TranslationException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }

        Assert.True(variants > 500, $"only {variants} variants were tried");
    }

    [Theory]
    [InlineData("""[{"model": "gpt-4o"}]""", "The request body must be a JSON object with 'model', 'max_tokens' and 'messages'.", null)]
    [InlineData("""{"model": "gpt-4o", """, "The request body is not valid JSON (line 1, byte 21).", null)]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]} x""", "The request body is not valid JSON (line 1, byte 87).", null)]
    [InlineData("""{"max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}""", "'model' is required: the model to answer, e.g. \"gpt-4o-mini\".", "model")]
    [InlineData("""{"model": 4, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}""", "'model' must be a non-empty string, e.g. \"gpt-4o-mini\".", "model")]
    [InlineData("""{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}""", "'max_tokens' is required: the most tokens the model may generate, e.g. 1024.", "max_tokens")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": "1024", "messages": [{"role": "user", "content": "Hi"}]}""", "'max_tokens' must be a positive integer, e.g. 1024.", "max_tokens")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 0, "messages": [{"role": "user", "content": "Hi"}]}""", "'max_tokens' must be a positive integer, e.g. 1024.", "max_tokens")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8}""", "'messages' is required: a non-empty array of {\"role\": \"user\" or \"assistant\", \"content\": ...} objects.", "messages")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": []}""", "'messages' is required: a non-empty array of {\"role\": \"user\" or \"assistant\", \"content\": ...} objects.", "messages")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": ["Hi"]}""", "'messages[0]' must be an object with 'role' and 'content'.", "messages[0]")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "42"}]}""", "'messages[1].role' must be \"user\", \"assistant\" or \"system\", not \"tool\".", "messages[1].role")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"content": "Hi"}]}""", "'messages[0].role' must be \"user\", \"assistant\" or \"system\".", "messages[0].role")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}, {"role": "user", "content": "Hi"}]}""", "'messages[0].content[0].type' must be \"text\": a system prompt takes only text blocks.", "messages[0].content[0].type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "output_config": {"format": {"type": "json_object"}}, "messages": [{"role": "user", "content": "Hi"}]}""", "'output_config.format' must be {\"type\": \"json_schema\", \"schema\": {...}}.", "output_config.format")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "tools": [{"name": "f", "input_schema": {"type": "object"}, "strict": "yes"}], "messages": [{"role": "user", "content": "Hi"}]}""", "'tools[0].strict' must be a boolean.", "tools[0].strict")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": 42}]}""", "'messages[0].content' must be a string or an array of content blocks.", "messages[0].content")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": [{"text": "Hi"}]}]}""", "'messages[0].content[0].type' is required and must be a string.", "messages[0].content[0].type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "text", "text": 7}]}]}""", "'messages[0].content[0].text' must be a string.", "messages[0].content[0].text")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Q3"}}]}]}""", "'messages[0].content[0].type' is \"document\", which cannot be sent: in a user message an OpenAI-compatible model takes only text, image and tool_result blocks. Remove the block or send its content as text.", "messages[0].content[0].type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}]}]}""", "'messages[1].content[0].type' is \"server_tool_use\", which cannot be sent: in an assistant message an OpenAI-compatible model takes only text, tool_use and thinking blocks. Remove the block or send its content as text.", "messages[1].content[0].type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "tool_result", "content": "ok"}]}]}""", "'messages[0].content[0].tool_use_id' is required and must be a string.", "messages[0].content[0].tool_use_id")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": "x=1"}]}]}""", "'messages[1].content[0].input' must be an object: the tool's arguments.", "messages[1].content[0].input")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}}]}]}""", "'messages[0].content[0].source.type' is \"file\", which an OpenAI-compatible model cannot fetch; send the image as \"base64\" or \"url\".", "messages[0].content[0].source.type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "temperature": "warm", "messages": [{"role": "user", "content": "Hi"}]}""", "'temperature' must be a number.", "temperature")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "stop_sequences": "END", "messages": [{"role": "user", "content": "Hi"}]}""", "'stop_sequences' must be an array of strings.", "stop_sequences")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "stream": "yes", "messages": [{"role": "user", "content": "Hi"}]}""", "'stream' must be a boolean.", "stream")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "metadata": {"user_id": 42}, "messages": [{"role": "user", "content": "Hi"}]}""", "'metadata.user_id' must be a string.", "metadata.user_id")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "system": 3, "messages": [{"role": "user", "content": "Hi"}]}""", "'system' must be a string or an array of text blocks.", "system")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}], "messages": [{"role": "user", "content": "Hi"}]}""", "'tools[0]' is Anthropic's server tool \"web_search_20250305\", which only Anthropic runs; an OpenAI-compatible model takes only custom tools ({\"name\", \"description\", \"input_schema\"}).", "tools[0].type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "tools": [{"name": "get_weather"}], "messages": [{"role": "user", "content": "Hi"}]}""", "'tools[0].input_schema' is required: the JSON Schema object of the tool's input.", "tools[0].input_schema")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "tool_choice": {"type": "required"}, "messages": [{"role": "user", "content": "Hi"}]}""", "'tool_choice.type' must be \"auto\", \"any\", \"tool\" or \"none\", not \"required\".", "tool_choice.type")]
    [InlineData("""{"model": "gpt-4o", "max_tokens": 8, "tool_choice": {"type": "tool"}, "messages": [{"role": "user", "content": "Hi"}]}""", "'tool_choice.name' is required and must be a string.", "tool_choice.name")]
    public void Invalid_requests_are_rejected_with_a_message_that_says_what_to_fix(string body, string message, string? param)
    {
        var error = Assert.Throws<TranslationException>(() => MessagesRequestTranslator.Translate(Encoding.UTF8.GetBytes(body)));

        Assert.Equal(message, error.Message);
        Assert.Equal(param, error.Param);
    }
}

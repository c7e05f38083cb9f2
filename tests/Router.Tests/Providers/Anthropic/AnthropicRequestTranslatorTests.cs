using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Router.Providers.Anthropic;

namespace Gateway.Aspire.Router.Tests.Providers.Anthropic;

public sealed class AnthropicRequestTranslatorTests
{
    private const string Model = "claude-sonnet-4-5-20250929";

    private static string Translate(string openAiRequest, int defaultMaxTokens = 4096) =>
        Encoding.UTF8.GetString(AnthropicRequestTranslator.Translate(Encoding.UTF8.GetBytes(openAiRequest), Model, defaultMaxTokens));

    private static JsonElement TranslateToElement(string openAiRequest) =>
        JsonDocument.Parse(Translate(openAiRequest)).RootElement.Clone();

    private static TranslationException Rejected(string openAiRequest) =>
        Assert.Throws<TranslationException>(() => Translate(openAiRequest));

    [Fact]
    public void System_and_developer_messages_become_the_system_blocks_in_order_and_same_role_turns_merge()
    {
        var body = Translate("""
            {
              "model": "anthropic/claude-sonnet",
              "messages": [
                {"role": "system", "content": "You are a terse travel assistant."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
                {"role": "user", "content": "Capital of France?"},
                {"role": "user", "content": [{"type": "text", "text": "And its population?"}]},
                {"role": "assistant", "content": "Paris, about 2.1 million."},
                {"role": "system", "content": "Never give opinions."},
                {"role": "user", "content": "Thanks!", "name": "ana"}
              ]
            }
            """);

        JsonAssert.Equal($$$"""
            {
              "model": "{{{Model}}}",
              "max_tokens": 4096,
              "system": [
                {"type": "text", "text": "You are a terse travel assistant."},
                {"type": "text", "text": "Answer in English."},
                {"type": "text", "text": "Never give opinions."}
              ],
              "messages": [
                {"role": "user", "content": [
                  {"type": "text", "text": "Capital of France?"},
                  {"type": "text", "text": "And its population?"}
                ]},
                {"role": "assistant", "content": [{"type": "text", "text": "Paris, about 2.1 million."}]},
                {"role": "user", "content": [{"type": "text", "text": "Thanks!"}]}
              ]
            }
            """, body);
    }

    [Fact]
    public void A_single_system_message_is_sent_as_a_string()
    {
        var body = TranslateToElement("""{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}""");

        Assert.Equal("Be brief.", body.GetProperty("system").GetString());
    }

    [Fact]
    public void Image_parts_become_base64_and_url_image_blocks()
    {
        var body = TranslateToElement("""
            {"messages": [{"role": "user", "content": [
              {"type": "text", "text": "What differs between these?"},
              {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==", "detail": "high"}},
              {"type": "image_url", "image_url": {"url": "https://upload.example.org/photos/eiffel.jpg"}}
            ]}]}
            """);

        JsonAssert.Equal("""
            [
              {"type": "text", "text": "What differs between these?"},
              {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}},
              {"type": "image", "source": {"type": "url", "url": "https://upload.example.org/photos/eiffel.jpg"}}
            ]
            """, body.GetProperty("messages")[0].GetProperty("content").GetRawText());
    }

    [Theory]
    [InlineData("data:image/bmp;base64,Qk0=", "image type 'image/bmp' is not supported")]
    [InlineData("data:image/png,rawbytes", "must be a base64 data URL")]
    [InlineData("ftp://files.example.org/a.png", "must be a base64 data URL")]
    public void Images_Anthropic_cannot_take_are_refused_naming_the_part(string url, string reason)
    {
        var error = Rejected($$$"""{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"{{{url}}}"}}]}]}""");

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal("messages[0].content[1]", error.Param);
    }

    [Fact]
    public void Unsupported_content_part_types_are_refused_naming_the_part()
    {
        var error = Rejected("""
            {"messages":[{"role":"user","content":[
              {"type":"text","text":"Transcribe this"},
              {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}
            ]}]}
            """);

        Assert.Equal("messages[0].content[1]", error.Param);
        Assert.Contains("'input_audio' is not supported", error.Message, StringComparison.Ordinal);
    }

    private const string WeatherTool = """
        {"type": "function", "function": {
          "name": "get_weather",
          "description": "Current weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
          "strict": true
        }}
        """;

    [Fact]
    public void Function_tools_become_anthropic_tools_with_an_empty_object_schema_by_default()
    {
        var body = TranslateToElement($$$"""
            {"messages":[{"role":"user","content":"Weather in Lyon?"}],
             "tools": [{{{WeatherTool}}}, {"type": "function", "function": {"name": "get_time"}}]}
            """);

        JsonAssert.Equal("""
            [
              {"name": "get_weather", "description": "Current weather for a city",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
              {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
            ]
            """, body.GetProperty("tools").GetRawText());
        Assert.False(body.TryGetProperty("tool_choice", out _));
    }

    [Theory]
    [InlineData("\"auto\"", null, """{"type":"auto"}""")]
    [InlineData("\"required\"", null, """{"type":"any"}""")]
    [InlineData("\"none\"", null, """{"type":"none"}""")]
    [InlineData("""{"type":"function","function":{"name":"get_weather"}}""", null, """{"type":"tool","name":"get_weather"}""")]
    [InlineData("\"auto\"", false, """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData("\"required\"", false, """{"type":"any","disable_parallel_tool_use":true}""")]
    [InlineData("""{"type":"function","function":{"name":"get_weather"}}""", false, """{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}""")]
    [InlineData("\"none\"", false, """{"type":"none"}""")]
    [InlineData(null, false, """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData("\"auto\"", true, """{"type":"auto"}""")]
    public void Tool_choice_and_parallel_tool_calls_map_to_anthropic_tool_choice(string? toolChoice, bool? parallel, string expected)
    {
        var extra = (toolChoice is null ? "" : $""","tool_choice":{toolChoice}""") + (parallel is null ? "" : $""","parallel_tool_calls":{(parallel.Value ? "true" : "false")}""");

        var body = TranslateToElement($$$"""{"messages":[{"role":"user","content":"Weather in Lyon?"}],"tools":[{{{WeatherTool}}}]{{{extra}}}}""");

        JsonAssert.Equal(expected, body.GetProperty("tool_choice").GetRawText());
    }

    [Fact]
    public void Tool_round_trip_becomes_tool_use_then_tool_results_merged_with_the_next_user_message()
    {
        var body = TranslateToElement($$$"""
            {"tools": [{{{WeatherTool}}}],
             "messages": [
              {"role": "user", "content": "Weather in Lyon and Nice?"},
              {"role": "assistant", "content": "Checking both.", "tool_calls": [
                {"id": "call_lyon", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"}},
                {"id": "call_nice", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Nice\"}"}}
              ]},
              {"role": "tool", "tool_call_id": "call_lyon", "content": "14°C, rain"},
              {"role": "tool", "tool_call_id": "call_nice", "content": [{"type": "text", "text": "22°C"}, {"type": "text", "text": "sunny"}]},
              {"role": "user", "content": "Which is warmer?"}
             ]}
            """);

        JsonAssert.Equal("""
            [
              {"role": "user", "content": [{"type": "text", "text": "Weather in Lyon and Nice?"}]},
              {"role": "assistant", "content": [
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "call_lyon", "name": "get_weather", "input": {"city": "Lyon"}},
                {"type": "tool_use", "id": "call_nice", "name": "get_weather", "input": {"city": "Nice"}}
              ]},
              {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_lyon", "content": "14°C, rain"},
                {"type": "tool_result", "tool_use_id": "call_nice", "content": [{"type": "text", "text": "22°C"}, {"type": "text", "text": "sunny"}]},
                {"type": "text", "text": "Which is warmer?"}
              ]}
            ]
            """, body.GetProperty("messages").GetRawText());
    }

    [Fact]
    public void Assistant_tool_calls_without_content_and_with_empty_arguments_become_tool_use_only()
    {
        var body = TranslateToElement("""
            {"messages": [
              {"role": "user", "content": "What time is it?"},
              {"role": "assistant", "content": null, "tool_calls": [{"id": "call_t", "type": "function", "function": {"name": "get_time", "arguments": ""}}]}
            ]}
            """);

        JsonAssert.Equal("""
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_t", "name": "get_time", "input": {}}]}
            """, body.GetProperty("messages")[1].GetRawText());
    }

    [Theory]
    [InlineData("{\\\"city\\\": \\\"Lyon\\\"", "messages[1].tool_calls[0].function.arguments")]
    [InlineData("[\\\"Lyon\\\"]", "messages[1].tool_calls[0].function.arguments")]
    public void Tool_call_arguments_that_are_not_a_json_object_are_refused(string arguments, string param)
    {
        var error = Rejected($$$"""
            {"messages": [
              {"role": "user", "content": "Weather?"},
              {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{{{arguments}}}"}}]}
            ]}
            """);

        Assert.Equal(param, error.Param);
        Assert.Contains("JSON object", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"stop\": \"\\n\\nHuman:\"", """["\n\nHuman:"]""")]
    [InlineData("\"stop\": [\"END\", \"###\"]", """["END","###"]""")]
    public void Stop_string_or_array_becomes_stop_sequences(string stop, string expected)
    {
        var body = TranslateToElement($$$"""{"messages":[{"role":"user","content":"Count to ten"}],{{{stop}}}}""");

        JsonAssert.Equal(expected, body.GetProperty("stop_sequences").GetRawText());
    }

    [Theory]
    [InlineData("", 4096)]
    [InlineData(""","max_tokens":300""", 300)]
    [InlineData(""","max_completion_tokens":500""", 500)]
    [InlineData(""","max_tokens":300,"max_completion_tokens":500""", 500)]
    public void Max_tokens_comes_from_max_completion_tokens_then_max_tokens_then_the_default(string fields, int expected)
    {
        var body = TranslateToElement($$$"""{"messages":[{"role":"user","content":"Hi"}]{{{fields}}}}""");

        Assert.Equal(expected, body.GetProperty("max_tokens").GetInt32());
    }

    [Theory]
    [InlineData("\"max_tokens\":0", "max_tokens")]
    [InlineData("\"max_tokens\":-5", "max_tokens")]
    [InlineData("\"max_completion_tokens\":\"many\"", "max_completion_tokens")]
    [InlineData("\"max_completion_tokens\":12.5", "max_completion_tokens")]
    public void Max_tokens_that_are_not_positive_integers_are_refused(string field, string param)
    {
        var error = Rejected($$$"""{"messages":[{"role":"user","content":"Hi"}],{{{field}}}}""");

        Assert.Equal(param, error.Param);
        Assert.Equal($"'{param}' must be a positive integer.", error.Message);
    }

    [Fact]
    public void N_above_one_is_refused()
    {
        var error = Rejected("""{"messages":[{"role":"user","content":"Name a color"}],"n":3}""");

        Assert.Equal("n", error.Param);
        Assert.Contains("exactly one choice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampling_stream_and_user_are_mapped_and_fields_without_equivalent_dropped()
    {
        var body = Translate("""
            {"model": "x", "messages": [{"role": "user", "content": "Hi"}], "n": 1,
             "temperature": 0.7, "top_p": 0.9, "stream": true, "stream_options": {"include_usage": true},
             "user": "user-7f3a", "seed": 42, "frequency_penalty": 0.5, "presence_penalty": 0.1,
             "logprobs": true, "top_logprobs": 2, "logit_bias": {"50256": -100}, "store": false,
             "metadata": {"team": "search"}, "some_future_field": {"x": 1}}
            """);

        JsonAssert.Equal($$$"""
            {"model": "{{{Model}}}", "max_tokens": 4096,
             "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
             "temperature": 0.7, "top_p": 0.9, "stream": true, "metadata": {"user_id": "user-7f3a"}}
            """, body);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"messages":[]}""")]
    [InlineData("""{"messages":"Hello"}""")]
    [InlineData("""{"messages":null}""")]
    public void Missing_or_empty_messages_are_refused(string request)
    {
        var error = Rejected(request);

        Assert.Equal("'messages' is required and must be a non-empty array.", error.Message);
        Assert.Equal("messages", error.Param);
    }

    [Theory]
    [InlineData("not json", "The request body is not valid JSON.", null)]
    [InlineData("[1,2]", "The request body must be a JSON object.", null)]
    [InlineData("""{"messages":[{"role":"critic","content":"x"}]}""", "'messages[0].role' must be one of 'system', 'developer', 'user', 'assistant' or 'tool'.", "messages[0].role")]
    [InlineData("""{"messages":["hello"]}""", "'messages[0]' must be an object.", "messages[0]")]
    [InlineData("""{"messages":[{"role":"user","content":42}]}""", "'messages[0].content' must be a string or an array of content parts.", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"system","content":"Only rules"}]}""", "Anthropic models need at least one non-empty user or assistant message besides system messages.", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"42"}]}""", "'messages[1].tool_call_id' is required for tool messages.", "messages[1].tool_call_id")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "'temperature' must be a number.", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stop":7}""", "'stop' must be a string or an array of strings.", "stop")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}""", "'tool_choice' must be 'auto', 'required', 'none' or a function choice.", "tool_choice")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"grep"}}]}""", "'tools[0].type': tool type 'custom' is not supported for Anthropic models; use 'function'.", "tools[0].type")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]}""", "'functions' is deprecated and not supported for Anthropic models; use 'tools' and 'tool_choice'.", "functions")]
    public void Invalid_requests_are_refused_with_a_precise_message(string request, string message, string? param)
    {
        var error = Rejected(request);

        Assert.Equal(message, error.Message);
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void Json_object_response_format_adds_a_system_instruction()
    {
        var body = TranslateToElement("""
            {"messages":[{"role":"system","content":"Extract the fields."},{"role":"user","content":"Ana, 34, Lyon"}],
             "response_format":{"type":"json_object"}}
            """);

        JsonAssert.Equal($$$"""
            [{"type":"text","text":"Extract the fields."},{"type":"text","text":{{{JsonSerializer.Serialize(AnthropicRequestTranslator.JsonObjectInstruction)}}}}]
            """, body.GetProperty("system").GetRawText());
    }

    private const string PersonSchema = """
        "response_format": {"type": "json_schema", "json_schema": {
          "name": "person", "description": "A person record.", "strict": true,
          "schema": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"], "additionalProperties": false}
        }}
        """;

    [Fact]
    public void Json_schema_response_format_becomes_a_forced_tool()
    {
        var body = TranslateToElement($$$"""{"messages":[{"role":"user","content":"Ana, 34"}],{{{PersonSchema}}}}""");

        var tool = Assert.Single(body.GetProperty("tools").EnumerateArray());
        Assert.Equal(AnthropicRequestTranslator.JsonResponseTool, tool.GetProperty("name").GetString());
        Assert.Contains("person", tool.GetProperty("description").GetString(), StringComparison.Ordinal);
        JsonAssert.Equal("""
            {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"], "additionalProperties": false}
            """, tool.GetProperty("input_schema").GetRawText());
        JsonAssert.Equal($$$"""{"type":"tool","name":"{{{AnthropicRequestTranslator.JsonResponseTool}}}"}""", body.GetProperty("tool_choice").GetRawText());
    }

    [Theory]
    [InlineData(null, """{"type":"any"}""")]
    [InlineData("\"none\"", """{"type":"tool","name":"json_response"}""")]
    [InlineData("""{"type":"function","function":{"name":"get_weather"}}""", """{"type":"tool","name":"get_weather"}""")]
    public void Json_schema_with_client_tools_lets_the_model_pick_a_tool_or_the_answer(string? toolChoice, string expected)
    {
        var choice = toolChoice is null ? "" : $""","tool_choice":{toolChoice}""";

        var body = TranslateToElement($$$"""{"messages":[{"role":"user","content":"Weather in Lyon as a record"}],"tools":[{{{WeatherTool}}}],{{{PersonSchema}}}{{{choice}}}}""");

        Assert.Equal(new[] { "get_weather", "json_response" }, body.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        JsonAssert.Equal(expected, body.GetProperty("tool_choice").GetRawText());
    }

    [Fact]
    public void Json_schema_with_a_non_object_root_is_refused()
    {
        var error = Rejected("""
            {"messages":[{"role":"user","content":"List colors"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"colors","schema":{"type":"array","items":{"type":"string"}}}}}
            """);

        Assert.Equal("response_format.json_schema.schema", error.Param);
    }

    [Fact]
    public void A_client_tool_named_like_the_json_response_tool_is_refused()
    {
        var error = Rejected("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"json_response"}}]}""");

        Assert.Equal("tools[0].function.name", error.Param);
    }
}

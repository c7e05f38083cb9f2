using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Providers;
using Gateway.Aspire.Router.Providers.Gemini;

namespace Gateway.Aspire.Router.Tests.Providers.Gemini;

public sealed class GeminiRequestTranslatorTests
{
    private static JsonElement Translate(string openAiRequest)
    {
        var body = GeminiRequestTranslator.Translate(Encoding.UTF8.GetBytes(openAiRequest));
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private static TranslationException Rejects(string openAiRequest) =>
        Assert.Throws<TranslationException>(() => GeminiRequestTranslator.Translate(Encoding.UTF8.GetBytes(openAiRequest)));

    private static string[] Roles(JsonElement gemini) =>
        [.. gemini.GetProperty("contents").EnumerateArray().Select(c => c.GetProperty("role").GetString()!)];

    private static JsonElement Parts(JsonElement gemini, int turn) =>
        gemini.GetProperty("contents")[turn].GetProperty("parts");

    [Fact]
    public void System_and_developer_messages_become_the_system_instruction_in_order()
    {
        var gemini = Translate("""
            {"model":"gemini-2.5-flash","messages":[
              {"role":"system","content":"You are a terse travel agent."},
              {"role":"user","content":"Find me a train to Lyon."},
              {"role":"developer","content":[{"type":"text","text":"Prices in euros."},{"type":"text","text":"No emojis."}]}
            ]}
            """);

        var system = gemini.GetProperty("systemInstruction").GetProperty("parts");
        Assert.Equal(["You are a terse travel agent.", "Prices in euros.", "No emojis."], system.EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        Assert.Equal(["user"], Roles(gemini));
        Assert.Equal("Find me a train to Lyon.", Parts(gemini, 0)[0].GetProperty("text").GetString());
        Assert.False(gemini.TryGetProperty("model", out _)); // the model goes in the URL
    }

    [Fact]
    public void Assistant_is_model_and_consecutive_messages_of_one_role_are_merged()
    {
        var gemini = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"Hello."},
              {"role":"user","content":[{"type":"text","text":"Are you there?"}]},
              {"role":"assistant","content":"Yes."},
              {"role":"assistant","content":[{"type":"text","text":"How can I help?"}]},
              {"role":"user","content":"Book a table."},
              {"role":"assistant","content":""}
            ]}
            """);

        Assert.Equal(["user", "model", "user"], Roles(gemini)); // the empty assistant message leaves no turn
        Assert.Equal(["Hello.", "Are you there?"], Parts(gemini, 0).EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        Assert.Equal(["Yes.", "How can I help?"], Parts(gemini, 1).EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        Assert.False(gemini.TryGetProperty("systemInstruction", out _));
        Assert.False(gemini.TryGetProperty("generationConfig", out _));
    }

    [Fact]
    public void Data_url_images_are_inline_data_and_http_images_are_file_data_typed_by_extension()
    {
        var gemini = Translate("""
            {"model":"m","messages":[{"role":"user","content":[
              {"type":"text","text":"Compare these."},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==","detail":"high"}},
              {"type":"image_url","image_url":{"url":"https://images.example.com/cats/tabby.WEBP?size=large#top"}},
              {"type":"image_url","image_url":{"url":"https://images.example.com/render?id=42"}}
            ]}]}
            """);

        var parts = Parts(gemini, 0);
        Assert.Equal(4, parts.GetArrayLength());
        Assert.Equal("Compare these.", parts[0].GetProperty("text").GetString());
        var inline = parts[1].GetProperty("inlineData");
        Assert.Equal("image/png", inline.GetProperty("mimeType").GetString());
        Assert.Equal("iVBORw0KGgoAAAANSUhEUg==", inline.GetProperty("data").GetString());
        var file = parts[2].GetProperty("fileData");
        Assert.Equal("image/webp", file.GetProperty("mimeType").GetString());
        Assert.Equal("https://images.example.com/cats/tabby.WEBP?size=large#top", file.GetProperty("fileUri").GetString());
        Assert.Equal("image/jpeg", parts[3].GetProperty("fileData").GetProperty("mimeType").GetString());
    }

    [Fact]
    public void Audio_and_inline_files_become_inline_data()
    {
        var gemini = Translate("""
            {"model":"m","messages":[{"role":"user","content":[
              {"type":"input_audio","input_audio":{"data":"UklGRiQAAABXQVZF","format":"wav"}},
              {"type":"file","file":{"filename":"invoice.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjcK"}}
            ]}]}
            """);

        var parts = Parts(gemini, 0);
        Assert.Equal("audio/wav", parts[0].GetProperty("inlineData").GetProperty("mimeType").GetString());
        Assert.Equal("UklGRiQAAABXQVZF", parts[0].GetProperty("inlineData").GetProperty("data").GetString());
        Assert.Equal("application/pdf", parts[1].GetProperty("inlineData").GetProperty("mimeType").GetString());
        Assert.Equal("JVBERi0xLjcK", parts[1].GetProperty("inlineData").GetProperty("data").GetString());
    }

    private const string WeatherTools = """
        "tools":[
          {"type":"function","function":{"name":"get_weather","description":"Current weather for a city.","strict":true,
            "parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"],"additionalProperties":false}}},
          {"type":"function","function":{"name":"get_time"}}
        ]
        """;

    [Fact]
    public void Function_tools_become_declarations_with_their_json_schema_unchanged()
    {
        var gemini = Translate($$"""{"model":"m","messages":[{"role":"user","content":"Weather in Oslo?"}],{{WeatherTools}}}""");

        var tools = gemini.GetProperty("tools");
        Assert.Equal(1, tools.GetArrayLength());
        var declarations = tools[0].GetProperty("functionDeclarations");
        Assert.Equal(2, declarations.GetArrayLength());
        var weather = declarations[0];
        Assert.Equal("get_weather", weather.GetProperty("name").GetString());
        Assert.Equal("Current weather for a city.", weather.GetProperty("description").GetString());
        Assert.False(weather.TryGetProperty("parameters", out _));
        var schema = weather.GetProperty("parametersJsonSchema");
        Assert.Equal(["c", "f"], schema.GetProperty("properties").GetProperty("unit").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.False(schema.GetProperty("additionalProperties").GetBoolean()); // parametersJsonSchema takes JSON Schema as is
        Assert.False(weather.TryGetProperty("strict", out _));
        Assert.Equal("get_time", declarations[1].GetProperty("name").GetString());
        Assert.False(declarations[1].TryGetProperty("parametersJsonSchema", out _));
        Assert.False(declarations[1].TryGetProperty("description", out _));
    }

    [Theory]
    [InlineData("\"auto\"", "AUTO", null)]
    [InlineData("\"none\"", "NONE", null)]
    [InlineData("\"required\"", "ANY", null)]
    [InlineData("{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", "ANY", "get_time")]
    public void Tool_choice_becomes_the_function_calling_mode(string toolChoice, string mode, string? allowed)
    {
        var gemini = Translate($$"""{"model":"m","messages":[{"role":"user","content":"Hi"}],{{WeatherTools}},"tool_choice":{{toolChoice}}}""");

        var config = gemini.GetProperty("toolConfig").GetProperty("functionCallingConfig");
        Assert.Equal(mode, config.GetProperty("mode").GetString());
        if (allowed is null)
        {
            Assert.False(config.TryGetProperty("allowedFunctionNames", out _));
        }
        else
        {
            Assert.Equal([allowed], config.GetProperty("allowedFunctionNames").EnumerateArray().Select(n => n.GetString()));
        }
    }

    [Fact]
    public void Tool_round_trip_becomes_function_call_and_function_response_parts_named_from_the_call()
    {
        var gemini = Translate($$$$$"""
            {"model":"m",{{{{{WeatherTools}}}}},"messages":[
              {"role":"user","content":"Weather in Oslo and the time?"},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\",\"unit\":\"c\"}"},
                 "extra_content":{"google":{"thought_signature":"CpwBAdHtim9sig=="}}},
                {"id":"call_t1","type":"function","function":{"name":"get_time","arguments":""}}
              ]},
              {"role":"tool","tool_call_id":"call_t1","content":"14:05"},
              {"role":"tool","tool_call_id":"call_w1","content":[{"type":"text","text":"{\"temp\":-3,\"sky\":\"snow\"}"}]},
              {"role":"user","content":"Thanks!"}
            ]}
            """);

        Assert.Equal(["user", "model", "user"], Roles(gemini));
        var calls = Parts(gemini, 1);
        var weather = calls[0].GetProperty("functionCall");
        Assert.Equal("get_weather", weather.GetProperty("name").GetString());
        Assert.Equal("Oslo", weather.GetProperty("args").GetProperty("city").GetString());
        Assert.Equal("CpwBAdHtim9sig==", calls[0].GetProperty("thoughtSignature").GetString());
        Assert.False(weather.TryGetProperty("id", out _));
        Assert.Equal(JsonValueKind.Object, calls[1].GetProperty("functionCall").GetProperty("args").ValueKind);
        Assert.Empty(calls[1].GetProperty("functionCall").GetProperty("args").EnumerateObject());

        var results = Parts(gemini, 2); // both tool results and the next user text share one user turn
        Assert.Equal(3, results.GetArrayLength());
        var time = results[0].GetProperty("functionResponse");
        Assert.Equal("get_time", time.GetProperty("name").GetString());
        Assert.Equal("14:05", time.GetProperty("response").GetProperty("content").GetString());
        var forecast = results[1].GetProperty("functionResponse");
        Assert.Equal("get_weather", forecast.GetProperty("name").GetString());
        Assert.Equal(-3, forecast.GetProperty("response").GetProperty("temp").GetInt32());
        Assert.Equal("Thanks!", results[2].GetProperty("text").GetString());
    }

    [Fact]
    public void Tool_results_that_are_json_but_not_objects_are_wrapped_as_content()
    {
        var gemini = Translate("""
            {"model":"m","messages":[
              {"role":"user","content":"List the rooms."},
              {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"rooms","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"[\"101\",\"102\"]"}
            ]}
            """);

        Assert.Equal("[\"101\",\"102\"]", Parts(gemini, 2)[0].GetProperty("functionResponse").GetProperty("response").GetProperty("content").GetString());
    }

    [Fact]
    public void Sampling_fields_become_the_generation_config()
    {
        var gemini = Translate("""
            {"model":"m","messages":[{"role":"user","content":"Write a haiku."}],
             "temperature":0.7,"top_p":0.95,"max_tokens":100,"max_completion_tokens":256,"stop":["\n\n","END"],
             "n":2,"seed":42,"presence_penalty":0.5,"frequency_penalty":-0.25,
             "stream":true,"stream_options":{"include_usage":true},"user":"u-123","logit_bias":{"50256":-100},
             "parallel_tool_calls":false,"metadata":{"team":"blue"}}
            """);

        var config = gemini.GetProperty("generationConfig");
        Assert.Equal(0.7, config.GetProperty("temperature").GetDouble());
        Assert.Equal(0.95, config.GetProperty("topP").GetDouble());
        Assert.Equal(256, config.GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal(["\n\n", "END"], config.GetProperty("stopSequences").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(2, config.GetProperty("candidateCount").GetInt32());
        Assert.Equal(42, config.GetProperty("seed").GetInt32());
        Assert.Equal(0.5, config.GetProperty("presencePenalty").GetDouble());
        Assert.Equal(-0.25, config.GetProperty("frequencyPenalty").GetDouble());
        Assert.Equal(8, config.EnumerateObject().Count());
        Assert.Equal(["contents", "generationConfig"], gemini.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Max_tokens_and_a_single_stop_string_are_used_alone()
    {
        var config = Translate("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":64,"stop":"###"}""").GetProperty("generationConfig");

        Assert.Equal(64, config.GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal(["###"], config.GetProperty("stopSequences").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public void Json_object_format_asks_for_json()
    {
        var config = Translate("""{"model":"m","messages":[{"role":"user","content":"Give JSON."}],"response_format":{"type":"json_object"}}""").GetProperty("generationConfig");

        Assert.Equal("application/json", config.GetProperty("responseMimeType").GetString());
        Assert.False(config.TryGetProperty("responseJsonSchema", out _));
    }

    [Fact]
    public void Json_schema_format_sends_the_schema_as_response_json_schema()
    {
        var config = Translate("""
            {"model":"m","messages":[{"role":"user","content":"Extract the event."}],
             "response_format":{"type":"json_schema","json_schema":{"name":"calendar_event","strict":true,
               "schema":{"type":"object","properties":{"title":{"type":"string"},"date":{"type":"string","format":"date"}},"required":["title","date"],"additionalProperties":false}}}}
            """).GetProperty("generationConfig");

        Assert.Equal("application/json", config.GetProperty("responseMimeType").GetString());
        var schema = config.GetProperty("responseJsonSchema");
        Assert.Equal(["title", "date"], schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("date", schema.GetProperty("properties").GetProperty("date").GetProperty("format").GetString());
        Assert.False(config.TryGetProperty("responseSchema", out _));
        Assert.False(schema.TryGetProperty("name", out _));
    }

    [Theory]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":[]}""", "messages")]
    [InlineData("""{"model":"m","messages":"Hi"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":"Only rules."}]}""", "messages")]
    [InlineData("""{"model":"m","messages":[42]}""", "messages[0]")]
    [InlineData("""{"model":"m","messages":[{"content":"Hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"function","name":"f","content":"1"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":42}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"input_video","video":{}}]}]}""", "messages[1].content[1]")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x.example/a.png"}}]},{"role":"user","content":"Hi"}]}""", "messages[0].content[0]")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,rawbytes"}}]}]}""", "messages[0].content[0].image_url.url")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://files.example/a.png"}}]}]}""", "messages[0].content[0].image_url.url")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc123"}}]}]}""", "messages[0].content[0].file")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}""", "messages[1].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}""", "messages[1].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"tool","tool_call_id":"call_missing","content":"42"}]}""", "messages[1].tool_call_id")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"object"}}]}""", "tools[0].function.parameters")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice.function.name")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"required"}""", "tool_choice")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":-5}""", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":"lots"}""", "max_completion_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"temperature":"warm"}""", "temperature")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"seed":9007199254740991}""", "seed")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"stop":[1,2]}""", "stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"xml"}}""", "response_format.type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema")]
    public void Invalid_or_inexpressible_requests_are_rejected_naming_the_field(string request, string param)
    {
        var error = Rejects(request);

        Assert.Equal(param, error.Param);
        Assert.Contains(param.Split('.')[0].Split('[')[0], error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":\"m\",\"messages\":[")]
    [InlineData("[1,2,3]")]
    [InlineData("")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"broken \\ud800 text\"}]}")]
    public void Bodies_that_are_not_valid_json_objects_are_rejected(string body)
    {
        var error = Rejects(body);

        Assert.Null(error.Param);
        Assert.StartsWith("The request body", error.Message, StringComparison.Ordinal);
    }
}

using System.Net;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>The mock's OpenAI format beyond plain chat: tool calls, usage details, legacy completions, embeddings.</summary>
public sealed class MockOpenAiTests(RouterAppFixture app)
{
    private static readonly (string, string) s_auth = ("Authorization", "Bearer " + RouterAppFixture.MockApiKey);

    private const string WeatherTools = """
        "tools":[
          {"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string"}},"required":["location"]}}},
          {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"timezone":{"type":"string"}}}}}
        ]
        """;

    private static string WeatherQuestion(bool stream) => $$"""
        {"model":"gpt-4o-mini","stream":{{(stream ? "true" : "false")}},{{WeatherTools}},
         "messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the weather in Paris?"}]}
        """;

    [Fact]
    public async Task Tools_and_a_weather_question_get_a_tool_call()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", WeatherQuestion(stream: false), s_auth);
        var json = await response.JsonAsync();

        var choice = json.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.StartsWith("call_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        var arguments = JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!).RootElement;
        Assert.Equal("What is the weather in Paris?", arguments.GetProperty("location").GetString());
        Assert.True(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Streamed_tool_call_opens_with_id_and_name_then_sends_argument_fragments()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", WeatherQuestion(stream: true), s_auth);
        var events = await response.EventsAsync();
        var chunks = events.Where(e => e.Data != "[DONE]").Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("choices")[0]).ToList();

        Assert.Equal("[DONE]", events[^1].Data);
        var first = chunks[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());
        var opening = first.GetProperty("tool_calls")[0];
        Assert.Equal(0, opening.GetProperty("index").GetInt32());
        Assert.StartsWith("call_", opening.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("get_weather", opening.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", opening.GetProperty("function").GetProperty("arguments").GetString());
        var fragments = chunks.Skip(1).SkipLast(1).Select(c => c.GetProperty("delta").GetProperty("tool_calls")[0]).ToList();
        Assert.True(fragments.Count > 2);
        Assert.All(fragments, f => Assert.False(f.TryGetProperty("id", out _)));
        var arguments = string.Concat(fragments.Select(f => f.GetProperty("function").GetProperty("arguments").GetString()));
        Assert.Equal("What is the weather in Paris?", JsonDocument.Parse(arguments).RootElement.GetProperty("location").GetString());
        Assert.Equal("tool_calls", chunks[^1].GetProperty("finish_reason").GetString());
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("finish_reason").ValueKind));
    }

    [Fact]
    public async Task Tool_call_header_picks_the_tool_and_a_tool_message_gets_text_that_quotes_it()
    {
        const string Ask = """{"model":"m","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{"timezone":{"type":"string"}}}}}],"messages":[{"role":"user","content":"What time is it in Tokyo?"}]}""";
        const string Answered = """
            {"model":"m","tools":[{"type":"function","function":{"name":"get_time"}}],"messages":[
              {"role":"user","content":"What time is it in Tokyo?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_time","arguments":"{\"timezone\":\"Asia/Tokyo\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"It is 09:30 in Tokyo."}]}
            """;
        using var plain = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", Ask, s_auth);
        using var forced = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", Ask, s_auth, ("x-mock-tool-call", "get_time"));
        using var answered = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", Answered, s_auth, ("x-mock-tool-call", "get_time"));

        Assert.Equal("Mock answer to: What time is it in Tokyo?", (await plain.JsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var call = (await forced.JsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.Equal("get_time", call.GetProperty("name").GetString());
        Assert.Equal("What time is it in Tokyo?", JsonDocument.Parse(call.GetProperty("arguments").GetString()!).RootElement.GetProperty("timezone").GetString());
        var final = (await answered.JsonAsync()).GetProperty("choices")[0];
        Assert.Equal("stop", final.GetProperty("finish_reason").GetString());
        Assert.Equal("Mock answer to tool result: It is 09:30 in Tokyo.", final.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Cached_and_reasoning_headers_fill_the_usage_details()
    {
        const string Body = """{"model":"m","messages":[{"role":"user","content":"Summarise the report."}]}""";
        using var plain = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", Body, s_auth);
        using var detailed = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", Body, s_auth, ("x-mock-cached-tokens", "1024"), ("x-mock-reasoning-tokens", "64"));
        var baseline = (await plain.JsonAsync()).GetProperty("usage");
        var usage = (await detailed.JsonAsync()).GetProperty("usage");

        Assert.Equal(0, baseline.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(0, baseline.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(baseline.GetProperty("prompt_tokens").GetInt32() + 1024, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(1024, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(baseline.GetProperty("completion_tokens").GetInt32() + 64, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(64, usage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Max_tokens_cuts_the_answer_with_finish_reason_length()
    {
        const string Body = """{"model":"m","max_completion_tokens":2,"messages":[{"role":"user","content":"Hello there"}]}""";
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/chat/completions", Body, s_auth, ("x-mock-output-tokens", "50"));
        var json = await response.JsonAsync();

        Assert.Equal("Mock answer", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("length", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(2, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Legacy_completions_answer_and_stream_text_completions()
    {
        const string Body = """{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","max_tokens":16,"temperature":0}""";
        const string StreamBody = """{"model":"gpt-3.5-turbo-instruct","prompt":["Say this is a test"],"stream":true,"stream_options":{"include_usage":true}}""";
        using var plain = await MockHttp.PostAsync(app.MockUrl, "/v1/completions", Body, s_auth);
        using var streamed = await MockHttp.PostAsync(app.MockUrl, "/v1/completions", StreamBody, s_auth);
        var json = await plain.JsonAsync();
        var chunks = await streamed.EventDataAsync();

        Assert.StartsWith("cmpl-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("text_completion", json.GetProperty("object").GetString());
        var choice = json.GetProperty("choices")[0];
        Assert.Equal("Mock answer to: Say this is a test", choice.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(8, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        var texts = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0]).ToList();
        Assert.Equal("Mock answer to: Say this is a test", string.Concat(texts.Select(t => t.GetProperty("text").GetString())));
        Assert.Equal("stop", texts[^1].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(8, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Embeddings_are_deterministic_unit_vectors_as_floats_or_base64()
    {
        const string Body = """{"model":"text-embedding-3-small","input":["The food was delicious.","The waiter was rude."]}""";
        const string Base64Body = """{"model":"text-embedding-3-small","input":"The food was delicious.","encoding_format":"base64"}""";
        const string TokensBody = """{"model":"text-embedding-3-small","input":[[791,3691,574],[976,68557]],"dimensions":16}""";
        using var floats = await MockHttp.PostAsync(app.MockUrl, "/v1/embeddings", Body, s_auth);
        using var again = await MockHttp.PostAsync(app.MockUrl, "/v1/embeddings", Body, s_auth);
        using var base64 = await MockHttp.PostAsync(app.MockUrl, "/v1/embeddings", Base64Body, s_auth);
        using var tokens = await MockHttp.PostAsync(app.MockUrl, "/v1/embeddings", TokensBody, s_auth);
        var json = await floats.JsonAsync();

        Assert.Equal("list", json.GetProperty("object").GetString());
        Assert.Equal("text-embedding-3-small", json.GetProperty("model").GetString());
        var data = json.GetProperty("data");
        Assert.Equal([0, 1], data.EnumerateArray().Select(d => d.GetProperty("index").GetInt32()));
        Assert.All(data.EnumerateArray(), d => Assert.Equal("embedding", d.GetProperty("object").GetString()));
        var first = data[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var second = data[1].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(8, first.Length);
        Assert.Equal(1.0, Math.Sqrt(first.Sum(v => (double)v * v)), 4);
        Assert.NotEqual(first, second);
        Assert.Equal(json.GetRawText(), (await again.JsonAsync()).GetRawText());
        var usage = json.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());

        var bytes = Convert.FromBase64String((await base64.JsonAsync()).GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(first, Enumerable.Range(0, bytes.Length / 4).Select(i => BitConverter.ToSingle(bytes, i * 4)));

        var fromTokens = await tokens.JsonAsync();
        Assert.Equal(2, fromTokens.GetProperty("data").GetArrayLength());
        Assert.Equal(16, fromTokens.GetProperty("data")[1].GetProperty("embedding").GetArrayLength());
        Assert.Equal(5, fromTokens.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Bad_requests_and_status_control_answer_openai_errors_on_every_endpoint()
    {
        using var noInput = await MockHttp.PostAsync(app.MockUrl, "/v1/embeddings", """{"model":"text-embedding-3-small"}""", s_auth);
        using var notJson = await MockHttp.PostAsync(app.MockUrl, "/v1/completions", "{not json", s_auth);
        using var limited = await MockHttp.PostAsync(app.MockUrl, "/v1/embeddings", """{"model":"e","input":"x"}""", s_auth, ("x-mock-status", "429"));
        using var wrongKey = await MockHttp.PostAsync(app.MockUrl, "/v1/completions", """{"model":"m","prompt":"x"}""", ("Authorization", "Bearer wrong"));

        Assert.Equal(HttpStatusCode.BadRequest, noInput.StatusCode);
        Assert.Equal("invalid_request_error", (await noInput.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal("rate_limit_error", (await limited.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal("invalid_api_key", (await wrongKey.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
    }
}

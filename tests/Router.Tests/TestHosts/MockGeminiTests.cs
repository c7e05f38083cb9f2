using System.Net;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>The mock's Gemini format: generateContent, streamGenerateContent (SSE and JSON array), function calls and Google's errors.</summary>
public sealed class MockGeminiTests(RouterAppFixture app)
{
    private const string Generate = "/v1beta/models/gemini-2.5-flash:generateContent";
    private const string Stream = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
    private static readonly (string, string) s_key = ("x-goog-api-key", RouterAppFixture.MockApiKey);

    private const string Hello = """
        {"systemInstruction":{"parts":[{"text":"You are terse."}]},
         "contents":[{"role":"user","parts":[{"text":"Hello there"}]}],
         "generationConfig":{"temperature":0.2,"maxOutputTokens":256}}
        """;

    private const string Weather = """
        {"contents":[{"role":"user","parts":[{"text":"What's the weather like in Boston?"}]}],
         "tools":[{"functionDeclarations":[{"name":"get_current_weather","description":"Get the current weather in a given location","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}]}]}
        """;

    [Fact]
    public async Task GenerateContent_answers_a_response_with_candidates_and_usage_metadata()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Generate, Hello, s_key);
        var json = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var candidate = Assert.Single(json.GetProperty("candidates").EnumerateArray());
        Assert.Equal("model", candidate.GetProperty("content").GetProperty("role").GetString());
        Assert.Equal("Mock answer to: Hello there", candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString());
        Assert.Equal(0, candidate.GetProperty("index").GetInt32());
        var usage = json.GetProperty("usageMetadata");
        Assert.Equal(5, usage.GetProperty("candidatesTokenCount").GetInt32());
        Assert.Equal(usage.GetProperty("promptTokenCount").GetInt32() + 5, usage.GetProperty("totalTokenCount").GetInt32());
        Assert.False(usage.TryGetProperty("cachedContentTokenCount", out _));
        Assert.False(usage.TryGetProperty("thoughtsTokenCount", out _));
        Assert.Equal("gemini-2.5-flash", json.GetProperty("modelVersion").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("responseId").GetString()));
    }

    [Fact]
    public async Task Sse_stream_sends_a_response_per_word_with_running_usage_and_the_finish_on_the_last()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Stream + "?alt=sse", Hello, s_key, ("x-mock-output-tokens", "4"));
        var raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var chunks = (await response.EventDataAsync()).ToList();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.EndsWith("}\r\n\r\n", raw, StringComparison.Ordinal);
        Assert.Equal(4, chunks.Count);
        var candidates = chunks.Select(c => c.GetProperty("candidates")[0]).ToList();
        Assert.Equal("Mock answer to: Hello", string.Concat(candidates.Select(c => c.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString())));
        Assert.Equal([false, false, false, true], candidates.Select(c => c.TryGetProperty("finishReason", out _)));
        Assert.Equal("STOP", candidates[^1].GetProperty("finishReason").GetString());
        Assert.Equal([1, 2, 3, 4], chunks.Select(c => c.GetProperty("usageMetadata").GetProperty("candidatesTokenCount").GetInt32()));
        Assert.All(chunks, c => Assert.Equal(chunks[0].GetProperty("responseId").GetString(), c.GetProperty("responseId").GetString()));
    }

    [Fact]
    public async Task Stream_without_alt_sse_is_one_json_array_of_responses()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Stream, Hello, s_key);
        var json = await response.JsonAsync();

        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        Assert.Equal(5, json.GetArrayLength());
        Assert.Equal("Mock answer to: Hello there", string.Concat(json.EnumerateArray().Select(r => r.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString())));
        Assert.Equal("STOP", json[4].GetProperty("candidates")[0].GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task Tools_and_a_weather_question_get_a_function_call_and_a_function_response_gets_text()
    {
        const string Answered = """
            {"contents":[
              {"role":"user","parts":[{"text":"What's the weather like in Boston?"}]},
              {"role":"model","parts":[{"functionCall":{"name":"get_current_weather","args":{"location":"Boston, MA"}}}]},
              {"role":"user","parts":[{"functionResponse":{"name":"get_current_weather","response":{"temperature":"22C"}}}]}],
             "tools":[{"functionDeclarations":[{"name":"get_current_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}]}]}
            """;
        using var plain = await MockHttp.PostAsync(app.MockUrl, Generate, Weather, s_key);
        using var streamed = await MockHttp.PostAsync(app.MockUrl, Stream + "?alt=sse", Weather, s_key);
        using var answered = await MockHttp.PostAsync(app.MockUrl, Generate, Answered, s_key);
        var candidate = (await plain.JsonAsync()).GetProperty("candidates")[0];
        var chunk = Assert.Single(await streamed.EventDataAsync());

        var call = candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("functionCall");
        Assert.Equal("get_current_weather", call.GetProperty("name").GetString());
        Assert.Equal("What's the weather like in Boston?", call.GetProperty("args").GetProperty("location").GetString());
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString());
        Assert.Equal(call.GetRawText(), chunk.GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")[0].GetProperty("functionCall").GetRawText());
        Assert.Equal("Mock answer to tool result: {\"temperature\":\"22C\"}",
            (await answered.JsonAsync()).GetProperty("candidates")[0].GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Cached_and_reasoning_headers_fill_the_usage_metadata()
    {
        using var plain = await MockHttp.PostAsync(app.MockUrl, Generate, Hello, s_key);
        using var detailed = await MockHttp.PostAsync(app.MockUrl, Generate, Hello, s_key, ("x-mock-cached-tokens", "300"), ("x-mock-reasoning-tokens", "25"));
        var baseline = (await plain.JsonAsync()).GetProperty("usageMetadata");
        var usage = (await detailed.JsonAsync()).GetProperty("usageMetadata");

        Assert.Equal(baseline.GetProperty("promptTokenCount").GetInt32() + 300, usage.GetProperty("promptTokenCount").GetInt32());
        Assert.Equal(300, usage.GetProperty("cachedContentTokenCount").GetInt32());
        Assert.Equal(5, usage.GetProperty("candidatesTokenCount").GetInt32());
        Assert.Equal(25, usage.GetProperty("thoughtsTokenCount").GetInt32());
        Assert.Equal(usage.GetProperty("promptTokenCount").GetInt32() + 5 + 25, usage.GetProperty("totalTokenCount").GetInt32());
    }

    [Fact]
    public async Task Max_output_tokens_cuts_the_answer_with_max_tokens()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Generate, Hello.Replace("256", "2", StringComparison.Ordinal), s_key);
        var candidate = (await response.JsonAsync()).GetProperty("candidates")[0];

        Assert.Equal("MAX_TOKENS", candidate.GetProperty("finishReason").GetString());
        Assert.Equal("Mock answer", candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Keys_methods_and_bodies_are_checked_as_google_does()
    {
        using var byQuery = await MockHttp.PostAsync(app.MockUrl, Generate + "?key=" + RouterAppFixture.MockApiKey, Hello);
        using var noKey = await MockHttp.PostAsync(app.MockUrl, Generate, Hello);
        using var wrongKey = await MockHttp.PostAsync(app.MockUrl, Generate + "?key=AIzaSyWrongKey", Hello);
        using var unknownMethod = await MockHttp.PostAsync(app.MockUrl, "/v1beta/models/gemini-2.5-flash:predictLongRunning", Hello, s_key);
        using var noContents = await MockHttp.PostAsync(app.MockUrl, Generate, """{"generationConfig":{}}""", s_key);

        Assert.Equal(HttpStatusCode.OK, byQuery.StatusCode);
        await AssertErrorAsync(noKey, 403, "PERMISSION_DENIED");
        var invalid = await AssertErrorAsync(wrongKey, 400, "INVALID_ARGUMENT");
        Assert.Equal("API key not valid. Please pass a valid API key.", invalid.GetProperty("message").GetString());
        var info = invalid.GetProperty("details")[0];
        Assert.Equal("type.googleapis.com/google.rpc.ErrorInfo", info.GetProperty("@type").GetString());
        Assert.Equal("API_KEY_INVALID", info.GetProperty("reason").GetString());
        await AssertErrorAsync(unknownMethod, 404, "NOT_FOUND");
        await AssertErrorAsync(noContents, 400, "INVALID_ARGUMENT");
    }

    [Theory]
    [InlineData(400, "INVALID_ARGUMENT")]
    [InlineData(429, "RESOURCE_EXHAUSTED")]
    [InlineData(500, "INTERNAL")]
    [InlineData(503, "UNAVAILABLE")]
    public async Task Status_control_answers_google_statuses(int status, string name)
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Stream + "?alt=sse", Hello, s_key, ("x-mock-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var error = await AssertErrorAsync(response, status, name);
        Assert.Equal(status == 429, error.TryGetProperty("details", out var details) && details[0].GetProperty("retryDelay").GetString() == "1s");
    }

    private static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, int status, string name)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var error = (await response.JsonAsync()).GetProperty("error");
        Assert.Equal(status, error.GetProperty("code").GetInt32());
        Assert.Equal(name, error.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        return error;
    }
}

using System.Net;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>The mock's Anthropic Messages format: message objects, the streaming event sequence, tool use and Anthropic's errors.</summary>
public sealed class MockAnthropicTests(RouterAppFixture app)
{
    private static readonly (string, string)[] s_headers = [("x-api-key", RouterAppFixture.MockApiKey), ("anthropic-version", "2023-06-01")];

    private const string Hello = """{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are terse.","messages":[{"role":"user","content":"Hello there"}]}""";

    private const string Weather = """
        {"model":"claude-sonnet-4-5","max_tokens":1024,"stream":STREAM,
         "tools":[{"name":"get_weather","description":"Get the current weather in a given location","input_schema":{"type":"object","properties":{"location":{"type":"string","description":"The city and state"}},"required":["location"]}}],
         "messages":[{"role":"user","content":[{"type":"text","text":"What is the weather like in San Francisco?"}]}]}
        """;

    private static (string, string)[] Headers(params (string, string)[] more) => [.. s_headers, .. more];

    [Fact]
    public async Task Answers_a_message_object()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, s_headers);
        var json = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("msg_", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("message", json.GetProperty("type").GetString());
        Assert.Equal("assistant", json.GetProperty("role").GetString());
        Assert.Equal("claude-sonnet-4-5", json.GetProperty("model").GetString());
        var block = Assert.Single(json.GetProperty("content").EnumerateArray());
        Assert.Equal("text", block.GetProperty("type").GetString());
        Assert.Equal("Mock answer to: Hello there", block.GetProperty("text").GetString());
        Assert.Equal("end_turn", json.GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("stop_sequence").ValueKind);
        var usage = json.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt32() > 0);
        Assert.Equal(0, usage.GetProperty("cache_creation_input_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(5, usage.GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Streams_the_full_event_sequence_with_a_text_delta_per_word()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello.Replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\"", StringComparison.Ordinal), Headers(("x-mock-output-tokens", "3")));
        var events = await response.EventsAsync();
        var data = events.Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();

        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Equal(
            ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Name));
        Assert.All(events.Zip(data), e => Assert.Equal(e.First.Name, e.Second.GetProperty("type").GetString()));
        var start = data[0].GetProperty("message");
        Assert.StartsWith("msg_", start.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, start.GetProperty("content").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, start.GetProperty("stop_reason").ValueKind);
        Assert.True(start.GetProperty("usage").GetProperty("input_tokens").GetInt32() > 0);
        Assert.Equal("text", data[1].GetProperty("content_block").GetProperty("type").GetString());
        Assert.Equal("", data[1].GetProperty("content_block").GetProperty("text").GetString());
        var deltas = data.Where(d => d.GetProperty("type").GetString() == "content_block_delta").Select(d => d.GetProperty("delta")).ToList();
        Assert.All(deltas, d => Assert.Equal("text_delta", d.GetProperty("type").GetString()));
        Assert.Equal(["Mock", " answer", " to:"], deltas.Select(d => d.GetProperty("text").GetString()));
        Assert.Equal(0, data[6].GetProperty("index").GetInt32());
        Assert.Equal("end_turn", data[7].GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(3, data[7].GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Tools_and_a_weather_question_get_tool_use_streamed_as_input_json_deltas()
    {
        using var plain = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Weather.Replace("STREAM", "false", StringComparison.Ordinal), s_headers);
        using var streamed = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Weather.Replace("STREAM", "true", StringComparison.Ordinal), s_headers);
        var json = await plain.JsonAsync();
        var events = await streamed.EventsAsync();
        var data = events.Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();

        Assert.Equal("tool_use", json.GetProperty("stop_reason").GetString());
        var block = Assert.Single(json.GetProperty("content").EnumerateArray());
        Assert.Equal("tool_use", block.GetProperty("type").GetString());
        Assert.StartsWith("toolu_", block.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("get_weather", block.GetProperty("name").GetString());
        Assert.Equal("What is the weather like in San Francisc", block.GetProperty("input").GetProperty("location").GetString());

        var opening = data[1].GetProperty("content_block");
        Assert.Equal("tool_use", opening.GetProperty("type").GetString());
        Assert.Equal("get_weather", opening.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Object, opening.GetProperty("input").ValueKind);
        Assert.Empty(opening.GetProperty("input").EnumerateObject());
        var deltas = data.Where(d => d.GetProperty("type").GetString() == "content_block_delta").Select(d => d.GetProperty("delta")).ToList();
        Assert.All(deltas, d => Assert.Equal("input_json_delta", d.GetProperty("type").GetString()));
        var input = JsonDocument.Parse(string.Concat(deltas.Select(d => d.GetProperty("partial_json").GetString()))).RootElement;
        Assert.Equal(block.GetProperty("input").GetRawText(), input.GetRawText());
        Assert.Equal("tool_use", data[^2].GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal("message_stop", events[^1].Name);
    }

    [Fact]
    public async Task A_tool_result_gets_text_that_quotes_it()
    {
        const string Body = """
            {"model":"claude-sonnet-4-5","max_tokens":1024,
             "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}}}}],
             "messages":[
               {"role":"user","content":"What is the weather like in San Francisco?"},
               {"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":[{"type":"text","text":"15 degrees, foggy"}]}]}]}
            """;
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Body, s_headers);
        var json = await response.JsonAsync();

        Assert.Equal("end_turn", json.GetProperty("stop_reason").GetString());
        Assert.Equal("Mock answer to tool result: 15 degrees, foggy", json.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Cache_headers_fill_the_cache_counts_and_reasoning_counts_as_output()
    {
        using var plain = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, s_headers);
        using var cached = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, Headers(("x-mock-cached-tokens", "2048"), ("x-mock-cache-write-tokens", "512"), ("x-mock-reasoning-tokens", "40")));
        using var streamed = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello.Replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\"", StringComparison.Ordinal), Headers(("x-mock-cached-tokens", "2048")));
        var baseline = (await plain.JsonAsync()).GetProperty("usage");
        var usage = (await cached.JsonAsync()).GetProperty("usage");
        var start = JsonDocument.Parse((await streamed.EventsAsync())[0].Data).RootElement.GetProperty("message").GetProperty("usage");

        Assert.Equal(baseline.GetProperty("input_tokens").GetInt32(), usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(2048, usage.GetProperty("cache_read_input_tokens").GetInt32());
        Assert.Equal(512, usage.GetProperty("cache_creation_input_tokens").GetInt32());
        Assert.Equal(5 + 40, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(2048, start.GetProperty("cache_read_input_tokens").GetInt32());
    }

    [Fact]
    public async Task Max_tokens_cuts_the_answer_with_stop_reason_max_tokens()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello.Replace("1024", "3", StringComparison.Ordinal), s_headers);
        var json = await response.JsonAsync();

        Assert.Equal("max_tokens", json.GetProperty("stop_reason").GetString());
        Assert.Equal("Mock answer to:", json.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(3, json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Keys_version_and_body_are_checked_as_anthropic_does()
    {
        using var noKey = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, ("anthropic-version", "2023-06-01"));
        using var wrongKey = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, ("x-api-key", "sk-ant-wrong"), ("anthropic-version", "2023-06-01"));
        using var bearer = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, ("Authorization", "Bearer " + RouterAppFixture.MockApiKey), ("anthropic-version", "2023-06-01"));
        using var noVersion = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, ("x-api-key", RouterAppFixture.MockApiKey));
        using var noMaxTokens = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}""", s_headers);
        using var notJson = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", "{\"model\":", s_headers);

        await AssertErrorAsync(noKey, HttpStatusCode.Unauthorized, "authentication_error", "x-api-key header is required");
        await AssertErrorAsync(wrongKey, HttpStatusCode.Unauthorized, "authentication_error", "invalid x-api-key");
        await AssertErrorAsync(bearer, HttpStatusCode.Unauthorized, "authentication_error", "x-api-key header is required");
        await AssertErrorAsync(noVersion, HttpStatusCode.BadRequest, "invalid_request_error", "anthropic-version: header is required");
        await AssertErrorAsync(noMaxTokens, HttpStatusCode.BadRequest, "invalid_request_error", "max_tokens: Field required");
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    [InlineData(529, "overloaded_error")]
    public async Task Status_control_answers_anthropic_error_types(int status, string type)
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/v1/messages", Hello, Headers(("x-mock-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))));

        await AssertErrorAsync(response, (HttpStatusCode)status, type, $"Mock error with status {status}.");
        Assert.Equal(status == 429, response.Headers.Contains("Retry-After"));
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string message)
    {
        Assert.Equal(status, response.StatusCode);
        var json = await response.JsonAsync();
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal(type, json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(message, json.GetProperty("error").GetProperty("message").GetString());
        Assert.StartsWith("req_", json.GetProperty("request_id").GetString(), StringComparison.Ordinal);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>The mock upstream itself: auth, determinism and its test controls.</summary>
public sealed class MockUpstreamTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private HttpClient Client(string? key = RouterAppFixture.MockApiKey)
    {
        var client = new HttpClient { BaseAddress = app.MockUrl };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        }

        return client;
    }

    private const string Body = """{"model":"m","messages":[{"role":"user","content":"Hello there"}]}""";

    [Fact]
    public async Task Wrong_key_is_401_in_openai_format()
    {
        using var client = Client("wrong");
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(Body, Encoding.UTF8, "application/json"), Cancellation);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Answers_are_deterministic_openai_completions()
    {
        using var client = Client();
        var first = await client.PostAsync("/v1/chat/completions", new StringContent(Body, Encoding.UTF8, "application/json"), Cancellation);
        var json = JsonDocument.Parse(await first.Content.ReadAsStringAsync(Cancellation)).RootElement;
        var second = JsonDocument.Parse(await (await client.PostAsync("/v1/chat/completions", new StringContent(Body, Encoding.UTF8, "application/json"), Cancellation)).Content.ReadAsStringAsync(Cancellation)).RootElement;

        Assert.StartsWith("chatcmpl-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal("m", json.GetProperty("model").GetString());
        var choice = json.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Mock answer to: Hello there", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(5, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(json.GetProperty("usage").GetRawText(), second.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Status_control_and_models_and_health()
    {
        using var client = Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-mock-status", "503");
        using var failed = await client.SendAsync(request, Cancellation);
        var models = JsonDocument.Parse(await client.GetStringAsync("/v1/models", Cancellation)).RootElement;
        using var health = await Client(null).GetAsync("/health", Cancellation);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal("gpt-4o-mini", models.GetProperty("data")[0].GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Output_tokens_control_sets_the_answer_length_and_the_stream_chunks()
    {
        using var client = Client();
        using var plain = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        plain.Headers.Add("x-mock-output-tokens", "100");
        using var answered = await client.SendAsync(plain, Cancellation);
        var json = JsonDocument.Parse(await answered.Content.ReadAsStringAsync(Cancellation)).RootElement;

        const string StreamBody = """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello there"}]}""";
        using var streamed = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(StreamBody, Encoding.UTF8, "application/json") };
        streamed.Headers.Add("x-mock-output-tokens", "3");
        using var stream = await client.SendAsync(streamed, Cancellation);
        var events = (await stream.Content.ReadAsStringAsync(Cancellation))
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e["data: ".Length..])
            .Where(e => e != "[DONE]")
            .Select(e => JsonDocument.Parse(e).RootElement)
            .ToList();
        var contents = events
            .Where(e => e.GetProperty("choices").GetArrayLength() > 0)
            .Select(e => e.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 })
            .Select(d => d.GetProperty("content").GetString())
            .ToList();

        var content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(100, content.Split(' ').Length);
        Assert.StartsWith("Mock answer to: Hello there ", content, StringComparison.Ordinal);
        Assert.Equal(100, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(["Mock", " answer", " to:"], contents);
        Assert.Equal(3, events[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Latency_control_applies_to_every_format()
    {
        var calls = new (string Path, string Body, (string, string)[] Headers)[]
        {
            ("/v1/embeddings", """{"model":"e","input":"x"}""", [("Authorization", "Bearer " + RouterAppFixture.MockApiKey)]),
            ("/openai/deployments/d/chat/completions?api-version=2024-10-21", Body, [("api-key", RouterAppFixture.MockApiKey)]),
            ("/v1/messages", """{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}""", [("x-api-key", RouterAppFixture.MockApiKey), ("anthropic-version", "2023-06-01")]),
            ("/v1beta/models/g:generateContent", """{"contents":[{"parts":[{"text":"Hi"}]}]}""", [("x-goog-api-key", RouterAppFixture.MockApiKey)]),
        };
        foreach (var (path, body, headers) in calls)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var response = await MockHttp.PostAsync(app.MockUrl, path, body, [.. headers, ("x-mock-latency-ms", "120")]);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // Timers may fire a tick early against the stopwatch: a margin keeps this from flaking.
            Assert.True(clock.ElapsedMilliseconds >= 100, $"{path} answered after {clock.ElapsedMilliseconds} ms");
        }
    }
}

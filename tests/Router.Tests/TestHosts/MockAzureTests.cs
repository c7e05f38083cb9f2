using System.Net;
using System.Text.Json;

namespace Gateway.Aspire.Router.Tests.TestHosts;

/// <summary>The mock's Azure OpenAI format: deployment URLs, api-version, api-key and Azure's own errors.</summary>
public sealed class MockAzureTests(RouterAppFixture app)
{
    private const string Chat = "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21";
    private const string Body = """{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Does Azure OpenAI support customer managed keys?"}]}""";
    private static readonly (string, string) s_key = ("api-key", RouterAppFixture.MockApiKey);

    [Fact]
    public async Task Chat_answers_as_openai_with_the_deployment_as_model_and_content_filter_results()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Chat, Body, s_key);
        var json = await response.JsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal("prod-gpt4o", json.GetProperty("model").GetString());
        var filter = json.GetProperty("prompt_filter_results")[0];
        Assert.Equal(0, filter.GetProperty("prompt_index").GetInt32());
        Assert.False(filter.GetProperty("content_filter_results").GetProperty("hate").GetProperty("filtered").GetBoolean());
        var choice = json.GetProperty("choices")[0];
        Assert.Equal("Mock answer to: Does Azure OpenAI support customer manag", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("safe", choice.GetProperty("content_filter_results").GetProperty("violence").GetProperty("severity").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Stream_opens_with_a_choiceless_prompt_filter_chunk()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, Chat, Body.Replace("{\"messages\"", "{\"stream\":true,\"messages\"", StringComparison.Ordinal), s_key);
        var events = await response.EventsAsync();
        var chunks = events.Where(e => e.Data != "[DONE]").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();

        Assert.Equal("[DONE]", events[^1].Data);
        var prelude = chunks[0];
        Assert.Equal(0, prelude.GetProperty("choices").GetArrayLength());
        Assert.Equal("", prelude.GetProperty("id").GetString());
        Assert.Equal(1, prelude.GetProperty("prompt_filter_results").GetArrayLength());
        Assert.All(chunks.Skip(1), c => Assert.Equal("prod-gpt4o", c.GetProperty("model").GetString()));
        Assert.Equal("assistant", chunks[1].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Embeddings_use_the_deployment_as_model()
    {
        using var response = await MockHttp.PostAsync(app.MockUrl, "/openai/deployments/embed-small/embeddings?api-version=2024-10-21", """{"input":["first phrase","second phrase"]}""", s_key);
        var json = await response.JsonAsync();

        Assert.Equal("embed-small", json.GetProperty("model").GetString());
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.Equal(8, json.GetProperty("data")[0].GetProperty("embedding").GetArrayLength());
    }

    [Fact]
    public async Task Missing_api_version_is_resource_not_found_and_bad_keys_are_401_in_azure_shape()
    {
        using var noVersion = await MockHttp.PostAsync(app.MockUrl, "/openai/deployments/prod-gpt4o/chat/completions", Body, s_key);
        using var noKey = await MockHttp.PostAsync(app.MockUrl, Chat, Body);
        using var bearer = await MockHttp.PostAsync(app.MockUrl, Chat, Body, ("Authorization", "Bearer " + RouterAppFixture.MockApiKey));
        using var wrongKey = await MockHttp.PostAsync(app.MockUrl, Chat, Body, ("api-key", "0123456789abcdef"));

        Assert.Equal(HttpStatusCode.NotFound, noVersion.StatusCode);
        var notFound = (await noVersion.JsonAsync()).GetProperty("error");
        Assert.Equal("404", notFound.GetProperty("code").GetString());
        Assert.Equal("Resource not found", notFound.GetProperty("message").GetString());
        foreach (var refused in new[] { noKey, bearer, wrongKey })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            var error = (await refused.JsonAsync()).GetProperty("error");
            Assert.Equal("401", error.GetProperty("code").GetString());
            Assert.StartsWith("Access denied due to", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Status_control_answers_azure_errors_with_retry_hints()
    {
        using var limited = await MockHttp.PostAsync(app.MockUrl, Chat, Body, s_key, ("x-mock-status", "429"));
        using var failed = await MockHttp.PostAsync(app.MockUrl, Chat, Body, s_key, ("x-mock-status", "500"));

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal("1000", limited.Headers.GetValues("retry-after-ms").Single());
        Assert.Equal("429", (await limited.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("500", (await failed.JsonAsync()).GetProperty("error").GetProperty("code").GetString());
    }
}

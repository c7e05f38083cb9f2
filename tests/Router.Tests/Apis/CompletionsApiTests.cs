using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Apis;

/// <summary>
/// Legacy <c>POST /v1/completions</c> through the running router (the OpenAI SDK has no client for
/// it, so raw HTTP as curl would send it): whole and streamed answers, usage asked for or not, billing.
/// </summary>
public sealed class CompletionsApiTests(RouterAppFixture app)
{
    private const string Prompt = "Say this is a test";

    private static string Body(string extra = "", string model = "mock/instruct") =>
        $$"""{"model":"{{model}}","prompt":"{{Prompt}}","max_tokens":16{{extra}}}""";

    [Fact]
    public async Task Completion_has_the_text_finish_reason_and_usage()
    {
        var requestId = NewRequestId("completion");

        var (response, json) = await PostAsync(app, "/v1/completions", Body(), requestId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("mock/instruct", response.Headers.GetValues("x-gateway-model").Single());
            Assert.Equal("openai-compatible", response.Headers.GetValues("x-gateway-provider").Single());
        }

        Assert.Equal("text_completion", json.GetProperty("object").GetString());
        Assert.Equal("gpt-3.5-turbo-instruct", json.GetProperty("model").GetString());
        var choice = json.GetProperty("choices")[0];
        Assert.Equal(MockAnswer(Prompt), choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = json.GetProperty("usage");
        Assert.Equal(MockPromptTokens(Prompt), usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(Words(MockAnswer(Prompt)), usage.GetProperty("completion_tokens").GetInt32());
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal(MockPromptTokens(Prompt), record.PromptTokens);
        Assert.Equal(Words(MockAnswer(Prompt)), record.CompletionTokens);
        Assert.Equal("1.50", record.Price.InputPerMtok);
        Assert.Equal("2.00", record.Price.OutputPerMtok);
    }

    [Fact]
    public async Task Max_tokens_cuts_the_completion_with_finish_reason_length()
    {
        var (response, json) = await PostAsync(app, "/v1/completions", $$"""{"model":"mock/instruct","prompt":"{{Prompt}}","max_tokens":2}""");
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var choice = json.GetProperty("choices")[0];
        Assert.Equal("Mock answer", choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Stream_concatenates_to_the_text_and_hides_the_usage_it_was_not_asked_for()
    {
        var requestId = NewRequestId("completion-stream");

        var (response, events) = await StreamAsync(app, "/v1/completions", Body(",\"stream\":true"), requestId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.DoesNotContain(chunks, c => c.TryGetProperty("usage", out var u) && u.ValueKind != JsonValueKind.Null);
        var choices = chunks.Select(c => c.GetProperty("choices")[0]).ToList();
        Assert.Equal(MockAnswer(Prompt), string.Concat(choices.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal("stop", choices[^1].GetProperty("finish_reason").GetString());
        // The gateway asked the upstream for usage anyway, to bill the stream.
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.True(record.Streamed);
        Assert.Equal(MockPromptTokens(Prompt), record.PromptTokens);
        Assert.Equal(Words(MockAnswer(Prompt)), record.CompletionTokens);
    }

    [Fact]
    public async Task Stream_keeps_the_usage_chunk_when_asked_for()
    {
        var (response, events) = await StreamAsync(app, "/v1/completions", Body(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal("[DONE]", events[^1].Data);
        var usage = JsonDocument.Parse(events[^2].Data).RootElement;
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(Words(MockAnswer(Prompt)), usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Single(events, e => e.Data.Contains("\"usage\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mock/gpt-4o-mini")]
    [InlineData("claude/sonnet")]
    public async Task Chat_model_is_400_for_legacy_completions(string model)
    {
        var (response, json) = await PostAsync(app, "/v1/completions", Body(model: model));
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Equal("model_not_supported", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("/v1/completions", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}

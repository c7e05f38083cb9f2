using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.Router.Tests.Forwarding;

/// <summary>The chat completions hot path over real HTTP: router → mock upstream, with gRPC doubles.</summary>
public sealed class ChatCompletionsForwarderTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private ChatClient Sdk(string model = "mock/gpt-4o-mini", string token = TestPolicy.GoodToken) =>
        new(model, new ApiKeyCredential(token), new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1") });

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Body(string model = "mock/gpt-4o-mini", string extra = "", string content = "What is the capital of France?") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{content}}"}]{{extra}}}""";

    private async Task<(HttpResponseMessage Response, JsonElement Json)> PostAsync(string body, string? token = TestPolicy.GoodToken, string? requestId = null)
    {
        using var client = app.CreateClient(token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(body) };
        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        var response = await client.SendAsync(request, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        return (response, text.Length > 0 && text[0] == '{' ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Fact]
    public async Task Openai_sdk_gets_the_upstream_answer()
    {
        ChatCompletion completion = await Sdk().CompleteChatAsync([new UserChatMessage("What is the capital of France?")], cancellationToken: Cancellation);

        Assert.Equal("Mock answer to: What is the capital of France?", Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        // The upstream saw (and echoed) the provider model, not the gateway's name for it.
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0);
        // Deterministic mock: one completion token per word of the answer.
        Assert.Equal(9, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Openai_sdk_streams_the_answer()
    {
        var text = new StringBuilder();
        var updates = new List<StreamingChatCompletionUpdate>();
        ChatFinishReason? finish = null;
        await foreach (var update in Sdk().CompleteChatStreamingAsync([new UserChatMessage("Tell me about streaming.")], cancellationToken: Cancellation))
        {
            updates.Add(update);
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish ??= update.FinishReason;
        }

        Assert.Equal("Mock answer to: Tell me about streaming.", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.True(updates.Count > 3);
        // The SDK itself sends stream_options.include_usage=true, so its usage chunk must come through, once, last.
        Assert.Equal(7, updates[^1].Usage?.OutputTokenCount);
        Assert.Single(updates, u => u.Usage is not null);
    }

    [Fact]
    public async Task Non_streaming_call_is_recorded_in_the_ledger_with_its_tokens()
    {
        var requestId = "test-" + Guid.NewGuid().ToString("N");

        var (response, json) = await PostAsync(Body(), requestId: requestId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(requestId, response.Headers.GetValues("x-request-id").Single());
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal(json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), record.PromptTokens);
        Assert.Equal(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), record.CompletionTokens);
        Assert.Equal("tok-good", record.TokenId);
        Assert.Equal("good", record.TokenName);
        Assert.Equal("mock/gpt-4o-mini", record.RequestedModel);
        Assert.Equal("mock/gpt-4o-mini", record.ServedModel);
        Assert.Equal("openai-compatible", record.Provider);
        Assert.Equal(200, record.StatusCode);
        Assert.False(record.Streamed);
        Assert.Equal("0.15", record.Price.InputPerMtok);
        Assert.Equal("0.60", record.Price.OutputPerMtok);
        Assert.Equal("0.075", record.Price.CachedInputPerMtok);
        Assert.True(record.LatencyMs > 0);
    }

    [Fact]
    public async Task Ledger_record_names_the_virtual_account_and_carries_the_metadata()
    {
        var requestId = "meta-" + Guid.NewGuid().ToString("N");
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Body()) };
        request.Headers.Add("x-request-id", requestId);
        request.Headers.Add("x-gateway-metadata", """{"project":"search","env":"prod"}""");

        using var response = await client.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal("good", record.VirtualAccount);
        Assert.Equal(("search", "prod"), (record.Metadata["project"], record.Metadata["env"]));
    }

    [Fact]
    public async Task Stream_usage_is_billed_and_stripped_when_not_asked_for()
    {
        var requestId = "stream-" + Guid.NewGuid().ToString("N");

        var (events, _) = await StreamAsync("mock/gpt-4o-mini", ",\"stream\":true", requestId);

        Assert.Equal("[DONE]", events[^1]);
        Assert.DoesNotContain(events, e => e.Contains("prompt_tokens", StringComparison.Ordinal));
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.True(record.Streamed);
        Assert.Equal(9, record.CompletionTokens);
        Assert.True(record.PromptTokens > 0);
        Assert.True(record.TimeToFirstTokenMs > 0);
    }

    [Fact]
    public async Task Stream_usage_is_kept_when_the_client_asked_for_it()
    {
        var requestId = "usage-" + Guid.NewGuid().ToString("N");

        var (events, _) = await StreamAsync("mock/gpt-4o-mini", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}", requestId);

        var usage = JsonDocument.Parse(events[^2]).RootElement;
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(9, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(9, (await app.Ledger.WaitForAsync(requestId)).CompletionTokens);
    }

    [Fact]
    public async Task Stream_chunks_arrive_as_the_upstream_sends_them()
    {
        // The "slow" account's upstream waits 150 ms between chunks (9 words: about 1.3 s in all).
        var (events, arrivals) = await StreamAsync("slow/gpt-4o-mini", ",\"stream\":true", null);

        Assert.Equal("[DONE]", events[^1]);
        var firstContent = arrivals[1];
        var last = arrivals[^1];
        // Buffering would deliver everything at once; relayed events arrive spread over the upstream's pace.
        Assert.True(last - firstContent > TimeSpan.FromMilliseconds(600), $"first content at {firstContent}, end at {last}");
    }

    private async Task<(List<string> Events, List<TimeSpan> Arrivals)> StreamAsync(string model, string extra, string? requestId)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Body(model, extra)) };
        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        var clock = Stopwatch.StartNew();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
        var events = new List<string>();
        var arrivals = new List<TimeSpan>();
        while (await reader.ReadLineAsync(Cancellation) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(line["data: ".Length..]);
                arrivals.Add(clock.Elapsed);
            }
        }

        return (events, arrivals);
    }

    [Fact]
    public async Task Missing_or_bad_key_is_401_in_openai_format()
    {
        var (missing, missingJson) = await PostAsync(Body(), token: null);
        var (bad, badJson) = await PostAsync(Body(), token: "gw-wrong");
        var (badWithBadBody, _) = await PostAsync("{not json", token: "gw-wrong");

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("invalid_api_key", missingJson.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Equal("authentication_error", badJson.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, badWithBadBody.StatusCode);
    }

    [Fact]
    public async Task Model_the_key_may_not_use_is_403()
    {
        var (response, json) = await PostAsync(Body("mock/gpt-4o-mini"), token: TestPolicy.RestrictedToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("model_not_allowed", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("model", json.GetProperty("error").GetProperty("param").GetString());
        var (allowed, _) = await PostAsync(Body("mock/gpt-4o"), token: TestPolicy.RestrictedToken);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Unknown_model_is_404_model_not_found()
    {
        var (response, json) = await PostAsync(Body("mock/gpt-9"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"messages":[]}""")]
    [InlineData("""{"model":"mock/gpt-4o-mini","stream":"yes"}""")]
    public async Task Bad_body_is_400(string body)
    {
        var (response, json) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        var (response, json) = await PostAsync(Body(content: new string('a', RouterAppFixture.MaxBodyBytes)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Guardrail_block_is_400_naming_the_guardrail()
    {
        var (response, json) = await PostAsync(Body(content: "please say " + TestGuardrailsService.BlockWord));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("guardrail_blocked", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("test-rule", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_500_is_502_and_recorded()
    {
        var requestId = "broken-" + Guid.NewGuid().ToString("N");

        var (response, json) = await PostAsync(Body("broken/gpt-4o-mini"), requestId: requestId);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_error", json.GetProperty("error").GetProperty("type").GetString());
        var record = await app.Ledger.WaitForAsync(requestId);
        Assert.Equal(502, record.StatusCode);
        Assert.Equal("upstream_error", record.ErrorType);
    }

    [Fact]
    public async Task Upstream_429_is_passed_on_with_retry_after()
    {
        var (response, json) = await PostAsync(Body("limited/gpt-4o-mini"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limit_error", json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Upstream_down_is_502()
    {
        var (response, json) = await PostAsync(Body("down/gpt-4o-mini"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_unreachable", json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Upstream_slower_than_the_model_timeout_is_504()
    {
        var (response, json) = await PostAsync(Body("sleepy/gpt-4o-mini"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Invalid_client_request_id_is_replaced()
    {
        var (response, _) = await PostAsync(Body(), requestId: "bad id with spaces");

        var id = response.Headers.GetValues("x-request-id").Single();
        Assert.NotEqual("bad id with spaces", id);
        Assert.True(Guid.TryParse(id, out var guid));
        Assert.Equal(7, guid.Version);
    }

    [Fact]
    public async Task Unknown_v1_route_is_an_openai_style_404()
    {
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/v1/teleport", Cancellation);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement;
        Assert.Equal("unknown_url", json.GetProperty("error").GetProperty("code").GetString());
    }
}

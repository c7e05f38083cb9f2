using System.ClientModel;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Providers.EndToEnd;

/// <summary>
/// Errors through the running router as each official SDK sees them: the OpenAI SDK raises its
/// <see cref="ClientResultException"/> with the status, the Anthropic SDK its typed exception with
/// Anthropic's error type; the gateway's own errors and providers' errors (rate limits, overload)
/// in whatever format the provider sent them.
/// </summary>
public sealed class SdkErrorTests(RouterAppFixture app)
{
    private static readonly UserChatMessage[] s_question = [new("What is the capital of France?")];

    private static MessageCreateParams Ask(string model) => new()
    {
        Model = model,
        MaxTokens = 256,
        Messages = [new UserMessageParam { Content = "What is the capital of France?" }],
    };

    [Fact]
    public async Task Openai_sdk_gets_400_naming_n_when_claude_is_asked_for_two_choices()
    {
        // The SDK's typed options have no 'n'; its protocol method sends the body as written and still raises typed errors.
        var body = BinaryContent.Create(BinaryData.FromString("""{"model":"claude/sonnet","n":2,"messages":[{"role":"user","content":"Two answers, please."}]}"""));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(app, "claude/sonnet").CompleteChatAsync(body, new() { CancellationToken = Cancellation }));

        Assert.Equal(400, error.Status);
        var json = ErrorOf(error);
        Assert.Equal("n", json.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", json.GetProperty("type").GetString());
        Assert.Contains("'n'", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("claude/sonnet")]
    [InlineData("gemini/flash")]
    public async Task Openai_sdk_gets_401_for_a_bad_key(string model)
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(app, model, token: "gw-wrong").CompleteChatAsync(s_question, cancellationToken: Cancellation));

        Assert.Equal(401, error.Status);
        Assert.Equal("invalid_api_key", ErrorOf(error).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Openai_sdk_gets_404_naming_an_unknown_model()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(app, "claude/opus-9").CompleteChatAsync(s_question, cancellationToken: Cancellation));

        Assert.Equal(404, error.Status);
        var json = ErrorOf(error);
        Assert.Equal("model_not_found", json.GetProperty("code").GetString());
        Assert.Contains("'claude/opus-9'", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Openai_sdk_gets_429_with_retry_after_from_a_rate_limited_claude()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(app, "claude-limited/sonnet").CompleteChatAsync(s_question, cancellationToken: Cancellation));

        Assert.Equal(429, error.Status);
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.Equal("1", retryAfter);
        var json = ErrorOf(error);
        Assert.Equal("rate_limit_error", json.GetProperty("type").GetString());
        // Anthropic's own message survives the re-rendering in OpenAI's shape.
        Assert.Contains("Mock error with status 429", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Openai_sdk_gets_429_from_a_rate_limited_gemini()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(app, "gemini-limited/flash").CompleteChatAsync(s_question, cancellationToken: Cancellation));

        Assert.Equal(429, error.Status);
        // Gemini's hint is a RetryInfo detail in the body ("1s"); the gateway turns it into the header clients honour.
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.Equal("1", retryAfter);
        var json = ErrorOf(error);
        Assert.Equal("rate_limit_error", json.GetProperty("type").GetString());
        Assert.Contains("gemini-limited", json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("Mock error with status 429", json.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Openai_sdk_stream_gets_429_before_any_chunk()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var update in Chat(app, "claude-limited/sonnet").CompleteChatStreamingAsync(s_question, cancellationToken: Cancellation))
            {
                Assert.Fail("No chunk may come from a refused stream: " + update.CompletionId);
            }
        });

        Assert.Equal(429, error.Status);
    }

    [Fact]
    public async Task Openai_sdk_gets_503_when_claude_is_overloaded()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(app, "claude-broken/sonnet").CompleteChatAsync(s_question, cancellationToken: Cancellation));

        Assert.Equal(503, error.Status);
        Assert.Equal("upstream_overloaded", ErrorOf(error).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("mock/gpt-4o-mini")]
    [InlineData("gemini/flash")]
    [InlineData("claude/sonnet")]
    public async Task Anthropic_sdk_gets_bad_request_without_max_tokens(string model)
    {
        // The typed parameters cannot leave max_tokens out; raw parameters send what a careless client would.
        var ask = MessageCreateParams.FromRawUnchecked(
            new Dictionary<string, JsonElement>(),
            new Dictionary<string, JsonElement>(),
            new Dictionary<string, JsonElement>
            {
                ["model"] = JsonSerializer.SerializeToElement(model),
                ["messages"] = JsonDocument.Parse("""[{"role":"user","content":"Hello"}]""").RootElement,
            });

        var error = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => AnthropicSdk(app).Messages.Create(ask, Cancellation));

        Assert.Equal("invalid_request_error", error.Type?.Raw());
        Assert.Contains("max_tokens", error.ApiMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anthropic_sdk_gets_unauthorized_for_a_bad_key()
    {
        var error = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => AnthropicSdk(app, key: "gw-wrong").Messages.Create(Ask("claude/sonnet"), Cancellation));

        Assert.Equal("authentication_error", error.Type?.Raw());
    }

    [Fact]
    public async Task Anthropic_sdk_gets_not_found_naming_an_unknown_model()
    {
        var error = await Assert.ThrowsAsync<AnthropicNotFoundException>(() => AnthropicSdk(app).Messages.Create(Ask("claude/opus-9"), Cancellation));

        Assert.Equal("not_found_error", error.Type?.Raw());
        Assert.Contains("'claude/opus-9'", error.ApiMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("claude-limited/sonnet")]
    [InlineData("gemini-limited/flash")]
    public async Task Anthropic_sdk_gets_rate_limit_from_a_limited_upstream(string model)
    {
        var error = await Assert.ThrowsAsync<AnthropicRateLimitException>(() => AnthropicSdk(app).Messages.Create(Ask(model), Cancellation));

        Assert.Equal("rate_limit_error", error.Type?.Raw());
        Assert.Contains("Mock error with status 429", error.ApiMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anthropic_sdk_stream_gets_rate_limit_before_any_event()
    {
        var error = await Assert.ThrowsAsync<AnthropicRateLimitException>(async () =>
        {
            await foreach (var e in AnthropicSdk(app).Messages.CreateStreaming(Ask("claude-limited/sonnet"), Cancellation))
            {
                Assert.Fail("No event may come from a refused stream: " + e.Type.Raw());
            }
        });

        Assert.Equal("rate_limit_error", error.Type?.Raw());
    }

    [Fact]
    public async Task Anthropic_sdk_gets_service_unavailable_overloaded_when_claude_answers_529()
    {
        var error = await Assert.ThrowsAsync<AnthropicServiceUnavailableException>(() => AnthropicSdk(app).Messages.Create(Ask("claude-broken/sonnet"), Cancellation));

        Assert.Equal("overloaded_error", error.Type?.Raw());
        Assert.Contains("overloaded", error.ApiMessage, StringComparison.Ordinal);
    }

    /// <summary>The <c>error</c> object of an OpenAI-format error answer.</summary>
    private static JsonElement ErrorOf(ClientResultException error) =>
        JsonDocument.Parse(error.GetRawResponse()!.Content.ToString()).RootElement.GetProperty("error").Clone();
}

using System.Net;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Providers.EndToEnd;

/// <summary>
/// What reaches the ledger for calls answered by providers with their own usage shapes: Anthropic's
/// cache reads and writes (outside its input_tokens) and Gemini's cached and thinking tokens must
/// land in the gateway's one usage shape (prompt including cache reads and writes, completion
/// including reasoning), whole or streamed, whatever format the client spoke, with the model's prices.
/// </summary>
/// <remarks>
/// The <c>claude-cached</c> account's upstream reports 1200 cache-read and 300 cache-write tokens on
/// every answer, <c>gemini-cached</c>'s 500 cached and 40 thinking tokens.
/// </remarks>
public sealed class UsageBillingTests(RouterAppFixture app)
{
    private const int ClaudeCacheRead = 1200;
    private const int ClaudeCacheWrite = 300;
    private const int GeminiCached = 500;
    private const int GeminiReasoning = 40;
    private const string Question = "Summarise the quarterly report.";

    private static string ChatBody(string model, bool stream = false) =>
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{Question}}"}]}""";

    private static MessageCreateParams Ask(string model) => new()
    {
        Model = model,
        MaxTokens = 512,
        Messages = [new UserMessageParam { Content = Question }],
    };

    [Fact]
    public async Task Claude_cache_reads_and_writes_are_prompt_tokens_in_the_answer_and_the_ledger()
    {
        var requestId = NewRequestId("claude-cache");

        var (response, json) = await PostAsync(app, "/v1/chat/completions", ChatBody("claude-cached/sonnet"), requestId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var prompt = MockPromptTokens(Question) + ClaudeCacheRead + ClaudeCacheWrite;
        var usage = json.GetProperty("usage");
        Assert.Equal(prompt, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(ClaudeCacheRead, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(Words(MockAnswer(Question)), usage.GetProperty("completion_tokens").GetInt32());

        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, prompt, Words(MockAnswer(Question)), cached: ClaudeCacheRead, cacheWrite: ClaudeCacheWrite, reasoning: 0);
        Assert.Equal("claude-cached/sonnet", record.ServedModel);
        Assert.Equal("anthropic", record.Provider);
        Assert.False(record.Streamed);
        Assert.False(record.UsageEstimated);
        Assert.Equal(200, record.StatusCode);
        AssertClaudePrice(record.Price);
    }

    [Fact]
    public async Task Claude_cache_usage_relayed_to_an_anthropic_client_is_billed_the_same()
    {
        var requestId = NewRequestId("claude-relay");

        var message = await AnthropicSdk(app, requestId: requestId).Messages.Create(Ask("claude-cached/sonnet"), Cancellation);

        // The client sees Anthropic's own shape: input_tokens without the cache reads and writes.
        Assert.Equal(MockPromptTokens(Question), message.Usage.InputTokens);
        Assert.Equal(ClaudeCacheRead, message.Usage.CacheReadInputTokens);
        Assert.Equal(ClaudeCacheWrite, message.Usage.CacheCreationInputTokens);
        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, MockPromptTokens(Question) + ClaudeCacheRead + ClaudeCacheWrite, Words(MockAnswer(Question)), ClaudeCacheRead, ClaudeCacheWrite, reasoning: 0);
        Assert.Equal("claude-cached/sonnet", record.RequestedModel);
        AssertClaudePrice(record.Price);
    }

    [Fact]
    public async Task Gemini_cached_and_thinking_tokens_are_in_the_answer_and_the_ledger()
    {
        var requestId = NewRequestId("gemini-cache");

        var (response, json) = await PostAsync(app, "/v1/chat/completions", ChatBody("gemini-cached/flash"), requestId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var prompt = MockPromptTokens(Question) + GeminiCached;
        var completion = Words(MockAnswer(Question)) + GeminiReasoning;
        var usage = json.GetProperty("usage");
        Assert.Equal(prompt, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(completion, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(prompt + completion, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(GeminiCached, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(GeminiReasoning, usage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());

        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, prompt, completion, cached: GeminiCached, cacheWrite: 0, reasoning: GeminiReasoning);
        Assert.Equal("gemini", record.Provider);
        Assert.Equal("0.30", record.Price.InputPerMtok);
        Assert.Equal("2.50", record.Price.OutputPerMtok);
        Assert.Equal("0.075", record.Price.CachedInputPerMtok);
        // Without their own rates, cache writes bill as input and reasoning as output.
        Assert.Equal("0.30", record.Price.CacheWritePerMtok);
        Assert.Equal("2.50", record.Price.ReasoningPerMtok);
    }

    [Fact]
    public async Task Claude_stream_is_billed_with_its_cache_tokens_though_the_client_asked_no_usage()
    {
        var requestId = NewRequestId("claude-stream");

        var (response, events) = await StreamAsync(app, "/v1/chat/completions", ChatBody("claude-cached/sonnet", stream: true), requestId);
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal("[DONE]", events[^1].Data);
        Assert.DoesNotContain(events, e => e.Data.Contains("\"prompt_tokens\"", StringComparison.Ordinal));
        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, MockPromptTokens(Question) + ClaudeCacheRead + ClaudeCacheWrite, Words(MockAnswer(Question)), ClaudeCacheRead, ClaudeCacheWrite, reasoning: 0);
        Assert.True(record.Streamed);
        Assert.True(record.TimeToFirstTokenMs > 0);
        AssertClaudePrice(record.Price);
    }

    [Fact]
    public async Task Openai_sdk_stream_from_gemini_reports_and_bills_cached_and_reasoning_tokens()
    {
        var requestId = NewRequestId("gemini-stream");
        ChatTokenUsage? usage = null;

        await foreach (var update in Chat(app, "gemini-cached/flash", requestId: requestId).CompleteChatStreamingAsync([new UserChatMessage(Question)], cancellationToken: Cancellation))
        {
            usage ??= update.Usage;
        }

        var prompt = MockPromptTokens(Question) + GeminiCached;
        var completion = Words(MockAnswer(Question)) + GeminiReasoning;
        Assert.NotNull(usage);
        Assert.Equal(prompt, usage.InputTokenCount);
        Assert.Equal(completion, usage.OutputTokenCount);
        Assert.Equal(GeminiCached, usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(GeminiReasoning, usage.OutputTokenDetails.ReasoningTokenCount);
        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, prompt, completion, GeminiCached, cacheWrite: 0, GeminiReasoning);
        Assert.True(record.Streamed);
    }

    [Fact]
    public async Task Anthropic_sdk_stream_from_gemini_is_billed_in_the_gateways_usage_shape()
    {
        var requestId = NewRequestId("messages-gemini-stream");

        var message = await AnthropicSdk(app, requestId: requestId).Messages.CreateStreaming(Ask("gemini-cached/flash"), Cancellation).Aggregate();

        // Anthropic's shape for the client: input_tokens without the cached ones, output with the thinking.
        Assert.Equal(MockPromptTokens(Question), message.Usage.InputTokens);
        Assert.Equal(GeminiCached, message.Usage.CacheReadInputTokens);
        Assert.Equal(Words(MockAnswer(Question)) + GeminiReasoning, message.Usage.OutputTokens);
        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, MockPromptTokens(Question) + GeminiCached, Words(MockAnswer(Question)) + GeminiReasoning, GeminiCached, cacheWrite: 0, GeminiReasoning);
        Assert.Equal("gemini-cached/flash", record.RequestedModel);
        Assert.True(record.Streamed);
    }

    [Fact]
    public async Task Anthropic_sdk_stream_from_an_openai_upstream_is_billed()
    {
        var requestId = NewRequestId("messages-openai-stream");

        var message = await AnthropicSdk(app, requestId: requestId).Messages.CreateStreaming(Ask("mock/gpt-4o-mini"), Cancellation).Aggregate();

        Assert.Equal(Words(MockAnswer(Question)), message.Usage.OutputTokens);
        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, MockPromptTokens(Question), Words(MockAnswer(Question)), cached: 0, cacheWrite: 0, reasoning: 0);
        Assert.Equal("openai-compatible", record.Provider);
        Assert.True(record.Streamed);
        Assert.True(record.TimeToFirstTokenMs > 0);
    }

    [Fact]
    public async Task Claude_stream_relayed_to_an_anthropic_client_is_billed_with_its_cache_tokens()
    {
        var requestId = NewRequestId("messages-claude-stream");

        var message = await AnthropicSdk(app, requestId: requestId).Messages.CreateStreaming(Ask("claude-cached/sonnet"), Cancellation).Aggregate();

        Assert.Equal(ClaudeCacheRead, message.Usage.CacheReadInputTokens);
        var record = await app.Ledger.WaitForAsync(requestId);
        AssertUsage(record, MockPromptTokens(Question) + ClaudeCacheRead + ClaudeCacheWrite, Words(MockAnswer(Question)), ClaudeCacheRead, ClaudeCacheWrite, reasoning: 0);
        Assert.True(record.Streamed);
    }

    private static void AssertUsage(UsageRecord record, int prompt, int completion, int cached, int cacheWrite, int reasoning)
    {
        Assert.Equal(prompt, record.PromptTokens);
        Assert.Equal(completion, record.CompletionTokens);
        Assert.Equal(cached, record.CachedTokens);
        Assert.Equal(cacheWrite, record.CacheWriteTokens);
        Assert.Equal(reasoning, record.ReasoningTokens);
        Assert.Equal("tok-good", record.TokenId);
        Assert.Equal(200, record.StatusCode);
        Assert.Equal("", record.ErrorType);
    }

    /// <summary>claude/sonnet's catalog prices, cache writes at their own rate.</summary>
    private static void AssertClaudePrice(Price price)
    {
        Assert.Equal("3.00", price.InputPerMtok);
        Assert.Equal("15.00", price.OutputPerMtok);
        Assert.Equal("0.30", price.CachedInputPerMtok);
        Assert.Equal("3.75", price.CacheWritePerMtok);
    }
}

using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Gateway.Aspire.Testing;
using Npgsql;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>
/// The whole application — Redis, PostgreSQL, the four services and the mock upstream — started
/// through AppHost's own Program and driven with the official OpenAI .NET SDK, as a user would.
/// </summary>
public sealed class GatewayEndToEndTests(GatewayAppFixture app) : IClassFixture<GatewayAppFixture>
{
    private const string Model = "mock/gpt-4o-mini";

    [Fact]
    public async Task Chat_completion_is_answered_by_the_upstream_and_recorded_in_the_ledger()
    {
        var token = await CreateTokenAsync("e2e-chat");
        var client = ChatClient(token.Secret);

        ChatCompletion completion = await client.CompleteChatAsync(
            [new UserChatMessage("What is the capital of France?")], cancellationToken: Cancellation);

        var text = Assert.Single(completion.Content).Text;
        Assert.StartsWith("Mock answer", text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);

        var row = await WaitForLedgerRowAsync(token.Id);
        Assert.Equal(Model, row.RequestedModel);
        Assert.Equal(200, row.StatusCode);
        Assert.False(row.Streamed);
        Assert.Equal(completion.Usage.InputTokenCount, row.PromptTokens);
        Assert.Equal(completion.Usage.OutputTokenCount, row.CompletionTokens);
        // 0.15 $/Mtok in, 0.60 $/Mtok out (gateway.yaml of the fixture).
        Assert.Equal((row.PromptTokens * 0.15m + row.CompletionTokens * 0.60m) / 1_000_000m, row.CostUsd);
    }

    [Fact]
    public async Task Streamed_chat_completion_arrives_in_chunks_and_is_recorded_with_usage()
    {
        var token = await CreateTokenAsync("e2e-stream");
        var client = ChatClient(token.Secret);

        var parts = new List<string>();
        ChatFinishReason? finish = null;
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in client.CompleteChatStreamingAsync(
            [new UserChatMessage("Tell me about streaming.")], cancellationToken: Cancellation))
        {
            updates.Add(update);
            parts.AddRange(update.ContentUpdate.Select(p => p.Text));
            finish ??= update.FinishReason;
        }

        // The SDK asks for usage (stream_options.include_usage) itself: it comes once, last.
        Assert.Single(updates, u => u.Usage is not null);
        Assert.NotNull(updates[^1].Usage);

        Assert.True(parts.Count(p => p.Length > 0) > 1, "the answer should arrive in several chunks");
        Assert.StartsWith("Mock answer", string.Concat(parts), StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, finish);

        var row = await WaitForLedgerRowAsync(token.Id);
        Assert.True(row.Streamed);
        Assert.Equal(200, row.StatusCode);
        Assert.True(row.PromptTokens > 0, "the ledger must carry the upstream's usage for streams too");
        Assert.True(row.CompletionTokens > 0);
    }

    [Fact]
    public async Task Bad_key_gets_401_in_OpenAI_format()
    {
        var client = ChatClient("gw-vat-not-a-real-token");

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation));

        Assert.Equal(401, error.Status);
        using var body = JsonDocument.Parse(error.GetRawResponse()!.Content.ToString());
        var inner = body.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(inner.GetProperty("message").GetString()));
        Assert.Equal("invalid_api_key", inner.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Models_lists_the_configured_model()
    {
        var token = await CreateTokenAsync("e2e-models");
        var models = new OpenAIClient(new ApiKeyCredential(token.Secret), Options).GetOpenAIModelClient();

        var list = await models.GetModelsAsync(Cancellation);

        Assert.Contains(list.Value, m => m.Id == Model);
    }

    [Theory]
    [InlineData("router")]
    [InlineData("policy")]
    [InlineData("accounting")]
    [InlineData("guardrails")]
    public async Task Every_service_answers_health_alive_and_Prometheus_metrics(string service)
    {
        using var http = new HttpClient { BaseAddress = app.App.GetEndpoint(service) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/alive", Cancellation)).StatusCode);
        var metrics = await http.GetStringAsync("/metrics", Cancellation);
        Assert.Contains("# TYPE", metrics, StringComparison.Ordinal);
        // ASP.NET Core's own request metric, counting the probes just made.
        Assert.Contains("http_server_request_duration_seconds", metrics, StringComparison.Ordinal);
    }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private OpenAIClientOptions Options => new() { Endpoint = new Uri(app.RouterUrl, "/v1") };

    private ChatClient ChatClient(string key) => new(Model, new ApiKeyCredential(key), Options);

    private async Task<(string Id, string Secret)> CreateTokenAsync(string name) =>
        await app.CreateTokenWithIdAsync(name, cancellationToken: Cancellation);

    private Task<LedgerRow> WaitForLedgerRowAsync(string tokenId) =>
        LedgerRows.WaitForSingleAsync(app, tokenId, "requested_model, status_code, streamed, prompt_tokens, completion_tokens, cost_usd",
            r => new LedgerRow(r.GetString(0), r.GetInt32(1), r.GetBoolean(2), r.GetInt32(3), r.GetInt32(4), r.GetDecimal(5)));

    private sealed record LedgerRow(
        string RequestedModel, int StatusCode, bool Streamed, int PromptTokens, int CompletionTokens, decimal CostUsd);
}

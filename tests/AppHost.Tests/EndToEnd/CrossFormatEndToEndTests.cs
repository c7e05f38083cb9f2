using System.ClientModel;
using System.Net;
using Anthropic;
using Anthropic.Core;
using Anthropic.Models.Messages;
using Gateway.Aspire.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>
/// Both client formats against both provider formats through the whole application (real policy,
/// accounting, Redis and PostgreSQL): an Anthropic SDK served by an OpenAI-format model, an OpenAI
/// SDK served by an Anthropic-format model, each call billed once at the serving model's prices.
/// </summary>
public sealed class CrossFormatEndToEndTests(GatewayAppFixture app) : IClassFixture<GatewayAppFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Anthropic_sdk_is_served_by_an_openai_format_model_and_billed()
    {
        var token = await CreateTokenAsync("e2e-anthropic-sdk");
        var client = new AnthropicClient(new ClientOptions { BaseUrl = app.RouterUrl.ToString().TrimEnd('/'), ApiKey = token.Secret, MaxRetries = 0 });

        var message = await client.Messages.Create(
            new MessageCreateParams { Model = "mock/gpt-4o-mini", MaxTokens = 256, Messages = [new UserMessageParam { Content = "What is the capital of France?" }] },
            Cancellation);

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.StartsWith("Mock answer", text.Text, StringComparison.Ordinal);
        Assert.Equal(StopReason.EndTurn, message.StopReason?.Value());
        var row = await WaitForLedgerRowAsync(token.Id);
        Assert.Equal("mock/gpt-4o-mini", row.ServedModel);
        Assert.Equal(message.Usage.InputTokens, row.PromptTokens);
        Assert.Equal(message.Usage.OutputTokens, row.CompletionTokens);
        Assert.Equal((row.PromptTokens * 0.15m + row.CompletionTokens * 0.60m) / 1_000_000m, row.CostUsd);
    }

    [Fact]
    public async Task Openai_sdk_streams_from_an_anthropic_format_model_and_is_billed()
    {
        var token = await CreateTokenAsync("e2e-openai-to-claude");
        var client = new ChatClient("mock-claude/sonnet", new ApiKeyCredential(token.Secret), new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1") });

        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync(
            [new UserChatMessage("Tell me about streaming.")], new ChatCompletionOptions { MaxOutputTokenCount = 64 }, Cancellation))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage ??= update.Usage;
        }

        Assert.StartsWith("Mock answer", text.ToString(), StringComparison.Ordinal);
        var row = await WaitForLedgerRowAsync(token.Id);
        Assert.Equal("mock-claude/sonnet", row.ServedModel);
        Assert.True(row.Streamed);
        Assert.True(row.PromptTokens > 0 && row.CompletionTokens > 0);
        // 3.00 $/Mtok in, 15.00 $/Mtok out (the fixture's mock-claude account); no cache use here.
        Assert.Equal((row.PromptTokens * 3.00m + row.CompletionTokens * 15.00m) / 1_000_000m, row.CostUsd);
    }

    [Fact]
    public async Task Anthropic_sdk_gets_its_own_typed_error_for_a_bad_key()
    {
        var client = new AnthropicClient(new ClientOptions { BaseUrl = app.RouterUrl.ToString().TrimEnd('/'), ApiKey = "gw-vat-not-a-real-key", MaxRetries = 0 });

        var error = await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicUnauthorizedException>(() => client.Messages.Create(
            new MessageCreateParams { Model = "mock/gpt-4o-mini", MaxTokens = 16, Messages = [new UserMessageParam { Content = "Hi" }] },
            Cancellation));

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    private async Task<(string Id, string Secret)> CreateTokenAsync(string name) =>
        await app.CreateTokenWithIdAsync(name, cancellationToken: Cancellation);

    private Task<LedgerRow> WaitForLedgerRowAsync(string tokenId) =>
        LedgerRows.WaitForSingleAsync(app, tokenId, "served_model, streamed, prompt_tokens, completion_tokens, cost_usd",
            r => new LedgerRow(r.GetString(0), r.GetBoolean(1), r.GetInt32(2), r.GetInt32(3), r.GetDecimal(4)));

    private sealed record LedgerRow(string ServedModel, bool Streamed, int PromptTokens, int CompletionTokens, decimal CostUsd);
}

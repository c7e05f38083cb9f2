using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using Gateway.Aspire.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>The whole app with a hard budget of 0.01 USD a day for one virtual account on mock-claude/sonnet (3 / 15 USD per Mtok).</summary>
public sealed class BudgetedGatewayAppFixture : GatewayAppFixture
{
    /// <summary>The token name the budget applies to.</summary>
    public const string BudgetedAccount = "e2e-budgeted";

    /// <inheritdoc />
    protected override IEnumerable<string> AdditionalDocuments =>
    [
        $"""
        type: gateway-budget-config
        name: e2e-budgets
        rules:
          - id: e2e-one-cent
            when:
              subjects: ["virtualaccount:{BudgetedAccount}"]
              models: [mock-claude/sonnet]
            limit_to: 0.01
            unit: cost_per_day
        """,
    ];
}

/// <summary>
/// Budgets end to end: the router prices the call's maximum cost from gateway.yaml, policy refuses
/// what the budget cannot afford, and the OpenAI SDK sees OpenAI's quota error.
/// </summary>
public sealed class BudgetEndToEndTests(BudgetedGatewayAppFixture app) : IClassFixture<BudgetedGatewayAppFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OpenAiSdk_gets_429_insufficient_quota_when_max_tokens_could_exceed_the_budget_and_passes_with_fewer()
    {
        var secret = await app.CreateTokenAsync(BudgetedGatewayAppFixture.BudgetedAccount, Cancellation);
        var client = new ChatClient("mock-claude/sonnet", new ApiKeyCredential(secret),
            new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

        // 1000 output tokens at 15 USD per Mtok may cost 0.015 USD: more than the whole budget.
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(
            [new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 1000 }, Cancellation));

        Assert.Equal(429, error.Status);
        using var body = JsonDocument.Parse(error.GetRawResponse()!.Content.ToString());
        var json = body.RootElement.GetProperty("error");
        Assert.Equal("insufficient_quota", json.GetProperty("type").GetString());
        Assert.Equal("budget_exceeded", json.GetProperty("code").GetString());
        Assert.Contains("Budget 'e2e-one-cent' exceeded: 0.01 USD per day", json.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("T00:00:00Z", json.GetProperty("message").GetString(), StringComparison.Ordinal);

        // 100 output tokens may cost 0.0015 USD: admitted, and settled to what it really cost.
        for (var i = 0; i < 3; i++)
        {
            var ok = await client.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 100 }, Cancellation);
            Assert.NotEmpty(ok.Value.Content);
        }
    }
}

using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI.Chat;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Budgets;

/// <summary>What clients see of budgets (the 429), and what the router tells policy: the call's maximum cost and, after it, its actual cost.</summary>
public sealed class BudgetResponseTests(RouterAppFixture app)
{
    [Fact]
    public async Task OpenAiSdk_Gets429_InsufficientQuota_NamingTheBudgetAndItsReset_WithoutRetryAfter()
    {
        var chat = new ChatClient("mock/gpt-4o-mini", new ApiKeyCredential(TestPolicy.BrokeToken), OpenAiOptions(app));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("Hello?")], cancellationToken: Cancellation));

        Assert.Equal(429, error.Status);
        using var json = JsonDocument.Parse(error.GetRawResponse()!.Content.ToString());
        var body = json.RootElement.GetProperty("error");
        Assert.Equal("insufficient_quota", body.GetProperty("type").GetString());
        Assert.Equal("budget_exceeded", body.GetProperty("code").GetString());
        var message = body.GetProperty("message").GetString()!;
        Assert.Contains("Budget 'ci-daily'", message, StringComparison.Ordinal);
        Assert.Contains("resets at 2030-01-10T00:00:00Z", message, StringComparison.Ordinal);
        var headers = error.GetRawResponse()!.Headers;
        Assert.True(headers.TryGetValue("x-should-retry", out var shouldRetry));
        Assert.Equal("false", shouldRetry);
        Assert.True(headers.TryGetValue("x-gateway-budget", out var rule));
        Assert.Equal("ci-daily", rule);
        Assert.False(headers.TryGetValue("Retry-After", out _));
    }

    [Fact]
    public async Task AdmittedCall_CarriesTheTightestBudget_InBudgetHeaders()
    {
        using var response = await PostAsync("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}""", NewRequestId("budget-headers"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // team-weekly has 1.5 USD left, ci-daily 7.5: the tighter one is described.
        Assert.Equal("team-weekly", Header(response, "x-gateway-budget"));
        Assert.Equal("20", Header(response, "x-gateway-budget-limit"));
        Assert.Equal("1.5", Header(response, "x-gateway-budget-remaining"));
        Assert.Equal("2030-01-14T00:00:00Z", Header(response, "x-gateway-budget-reset"));
    }

    [Fact]
    public async Task RefusedCall_BudgetHeadersDescribeTheBudgetThatRefused()
    {
        using var client = app.CreateClient(TestPolicy.BrokeToken);

        using var response = await client.PostAsync("/v1/chat/completions", Json("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}"""), Cancellation);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        // team-weekly has less left (0), but ci-daily is the one that refused the call.
        Assert.Equal("ci-daily", Header(response, "x-gateway-budget"));
        Assert.Equal("10", Header(response, "x-gateway-budget-limit"));
        Assert.Equal("0.01", Header(response, "x-gateway-budget-remaining"));
        Assert.Equal("2030-01-10T00:00:00Z", Header(response, "x-gateway-budget-reset"));
    }

    [Fact]
    public async Task CallWithoutABudget_HasNoBudgetHeaders()
    {
        using var client = app.CreateClient(TestPolicy.GoodToken);

        using var response = await client.PostAsync("/v1/chat/completions", Json("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}"""), Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("x-gateway-budget", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task AnthropicClients_GetTheBudget429_InAnthropicsFormat()
    {
        using var client = app.CreateClient(TestPolicy.BrokeToken);

        using var response = await client.PostAsync("/v1/messages", Json("""{"model":"claude/sonnet","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}"""), Cancellation);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
        Assert.Contains("Budget 'ci-daily'", json.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    // gpt-4o-mini: 0.15 USD input and 0.60 USD output per Mtok, i.e. 150 and 600 nano-USD a token.
    [InlineData("mock/gpt-4o-mini", "\"max_tokens\":300,", 150, 300 * 600)]
    // n completions of max_tokens each.
    [InlineData("mock/gpt-4o-mini", "\"max_tokens\":300,\"n\":3,", 150, 3 * 300 * 600)]
    // No max_tokens and the model declares none: the 1024 reserved by default.
    [InlineData("mock/gpt-4o-mini", "", 150, 1024 * 600)]
    // Sonnet: a prompt token may cost the cache-write rate (3.75 USD), above input (3.00); default_max_tokens is 1024.
    [InlineData("claude/sonnet", "", 3750, 1024 * 15_000)]
    public async Task Admission_CarriesTheMaximumCost_PricedFromTheCatalog(string model, string maxTokens, long promptNanoUsdPerToken, long completionNanoUsd)
    {
        var requestId = NewRequestId("budget-max");
        var body = $$"""{"model":"{{model}}",{{maxTokens}}"messages":[{"role":"user","content":"What is the capital of France?"}]}""";

        using var response = await PostAsync(body, requestId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var admitted = TestPolicy.CountedAdmits[requestId];
        var promptEstimate = (Encoding.UTF8.GetByteCount(body) + 3) / 4;
        Assert.Equal(promptEstimate, admitted.EstimatedPromptTokens);
        Assert.Equal(promptEstimate * promptNanoUsdPerToken + completionNanoUsd, admitted.MaxCostNanoUsd);
    }

    [Fact]
    public async Task Settle_CarriesTheActualCost_WithCacheReadsAndWritesAtTheirOwnRates()
    {
        var requestId = NewRequestId("budget-settle");

        using var response = await PostAsync("""{"model":"claude-cached/sonnet","max_tokens":200,"messages":[{"role":"user","content":"What is the capital of France?"}]}""", requestId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation));
        var usage = json.RootElement.GetProperty("usage");
        var prompt = usage.GetProperty("prompt_tokens").GetInt64();
        var completion = usage.GetProperty("completion_tokens").GetInt64();
        var settle = await TestPolicy.WaitForSettleAsync(requestId);
        Assert.Equal("budget-" + requestId, settle.BudgetReservation);
        Assert.True(settle.HasActualCostNanoUsd);
        // The mock reads 1200 prompt tokens from the cache (0.30 USD/Mtok) and writes 300 (3.75); the rest is input (3.00), output 15.00.
        Assert.Equal((prompt - 1500) * 3000 + 1200 * 300 + 300 * 3750 + completion * 15_000, settle.ActualCostNanoUsd);
        Assert.Equal(prompt + completion, settle.ActualTokens);
    }

    [Fact]
    public async Task FailedCall_SettlesItsBudgetReservationToZero()
    {
        var requestId = NewRequestId("budget-failed");

        using var response = await PostAsync("""{"model":"broken/gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}""", requestId);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var settle = await TestPolicy.WaitForSettleAsync(requestId);
        Assert.Equal("budget-" + requestId, settle.BudgetReservation);
        Assert.True(settle.HasActualCostNanoUsd);
        Assert.Equal(0, settle.ActualCostNanoUsd);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : throw new Xunit.Sdk.XunitException($"No {name} header.");

    private async Task<HttpResponseMessage> PostAsync(string body, string requestId)
    {
        using var client = app.CreateClient(TestPolicy.BudgetedToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(body) };
        request.Headers.Add("x-request-id", requestId);
        return await client.SendAsync(request, Cancellation);
    }
}

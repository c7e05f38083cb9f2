using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text.Json;
using Gateway.Aspire.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>The whole app with a rate-limit rule in gateway.yaml: 3 requests per minute for one virtual account.</summary>
public sealed class RateLimitedGatewayAppFixture : GatewayAppFixture
{
    /// <summary>The token name the rule applies to.</summary>
    public const string LimitedAccount = "e2e-limited";

    /// <inheritdoc />
    protected override IEnumerable<string> AdditionalDocuments =>
    [
        $"""
        type: gateway-rate-limiting-config
        name: e2e-limits
        rules:
          - id: e2e-three-per-minute
            when:
              subjects: ["virtualaccount:{LimitedAccount}"]
              models: [mock/gpt-4o-mini]
            limit_to: 3
            unit: requests_per_minute
        """,
    ];
}

/// <summary>Rate limits end to end: AppHost gives policy the same gateway.yaml, and the OpenAI SDK sees a 429.</summary>
public sealed class RateLimitEndToEndTests(RateLimitedGatewayAppFixture app) : IClassFixture<RateLimitedGatewayAppFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OpenAiSdk_gets_429_with_rate_limit_headers_after_the_limit()
    {
        var secret = await CreateTokenAsync(RateLimitedGatewayAppFixture.LimitedAccount);
        // No SDK retries: it would otherwise honour Retry-After and wait out the minute.
        var client = new ChatClient("mock/gpt-4o-mini", new ApiKeyCredential(secret),
            new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

        for (var i = 0; i < 3; i++)
        {
            var ok = await client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation);
            var headers = ok.GetRawResponse().Headers;
            Assert.True(headers.TryGetValue("x-ratelimit-remaining-requests", out var remaining));
            Assert.Equal((2 - i).ToString(System.Globalization.CultureInfo.InvariantCulture), remaining);
        }

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            client.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation));

        Assert.Equal(429, error.Status);
        var raw = error.GetRawResponse()!;
        Assert.True(raw.Headers.TryGetValue("Retry-After", out var retryAfter));
        Assert.InRange(int.Parse(retryAfter!, System.Globalization.CultureInfo.InvariantCulture), 1, 61);
        Assert.True(raw.Headers.TryGetValue("x-ratelimit-limit-requests", out var limit));
        Assert.Equal("3", limit);
        using var body = JsonDocument.Parse(raw.Content.ToString());
        var message = body.RootElement.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("e2e-three-per-minute", message, StringComparison.Ordinal);

        // Another virtual account is not limited by the rule.
        var other = new ChatClient("mock/gpt-4o-mini", new ApiKeyCredential(await CreateTokenAsync("e2e-free")),
            new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1") });
        await other.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation);
    }

    private Task<string> CreateTokenAsync(string name) => app.CreateTokenAsync(name, Cancellation);
}

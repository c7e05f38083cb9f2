using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.RateLimiting;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.RateLimiting;

/// <summary>What clients see of rate limits: 429s, OpenAI's x-ratelimit-* headers, metadata and settlement.</summary>
public sealed class RateLimitResponseTests(RouterAppFixture app)
{
    private const string Body = """{"model":"mock/gpt-4o-mini","max_tokens":300,"messages":[{"role":"user","content":"What is the capital of France?"}]}""";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LimitedCall_Gets429_InOpenAiFormat_NamingTheRule_WithRetryAfterAndRateLimitHeaders()
    {
        using var response = await PostAsync(TestPolicy.LimitedToken);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("error");
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("'ci-rpm'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("30", Header(response, "Retry-After"));
        Assert.Equal("29500", Header(response, "retry-after-ms"));
        Assert.Equal("50", Header(response, "x-ratelimit-limit-requests"));
        Assert.Equal("0", Header(response, "x-ratelimit-remaining-requests"));
        Assert.Equal("1m1s", Header(response, "x-ratelimit-reset-requests"));
    }

    [Fact]
    public async Task AdmittedCall_CarriesTheHeaders_SendsMetadataAndEstimate_AndSettlesToActualUsage()
    {
        var requestId = Guid.NewGuid().ToString();

        using var response = await PostAsync(TestPolicy.CountedToken, requestId, """{"project":"apollo","environment":"prod"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1000", Header(response, "x-ratelimit-limit-tokens"));
        Assert.Equal("400", Header(response, "x-ratelimit-remaining-tokens"));
        Assert.Equal("1.5s", Header(response, "x-ratelimit-reset-tokens"));
        Assert.False(response.Headers.Contains("Retry-After"));

        var admitted = TestPolicy.CountedAdmits[requestId];
        Assert.Equal("apollo", admitted.Metadata["project"]);
        Assert.Equal("prod", admitted.Metadata["environment"]);
        Assert.Equal(300, admitted.MaxTokens);
        Assert.Equal((Encoding.UTF8.GetByteCount(Body) + 3) / 4, admitted.EstimatedPromptTokens);

        var usage = (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("usage");
        var settle = await TestPolicy.WaitForSettleAsync(requestId);
        Assert.Equal("reservation-" + requestId, settle.Reservation);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64() + usage.GetProperty("completion_tokens").GetInt64(), settle.ActualTokens);
    }

    [Fact]
    public async Task AdmittedCall_TellsPolicyHowManyCompletionsItAsksFor()
    {
        var requestId = Guid.NewGuid().ToString();

        using var response = await PostAsync(TestPolicy.CountedToken, requestId, body: Body.Replace("\"max_tokens\":300", "\"max_tokens\":300,\"n\":3", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var admitted = TestPolicy.CountedAdmits[requestId];
        Assert.Equal(300, admitted.MaxTokens);
        Assert.Equal(3, admitted.Choices);
    }

    [Fact]
    public async Task CallWithoutARule_HasNoRateLimitHeaders()
    {
        using var response = await PostAsync(TestPolicy.GoodToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[\"a\"]")]
    [InlineData("{\"project\":1}")]
    [InlineData("{\"project\":{\"nested\":\"x\"}}")]
    [InlineData("{\"a\":\"x\",\"a\":\"y\"}")]
    [InlineData("{\"project\":\"x\"} trailing")]
    public async Task MalformedMetadata_Gets400_InOpenAiFormat(string metadata)
    {
        using var response = await PostAsync(TestPolicy.GoodToken, metadata: metadata);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_metadata", error.GetProperty("code").GetString());
        Assert.Contains(GatewayMetadata.HeaderName, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedMetadata_WithABadKey_IsStill401()
    {
        using var response = await PostAsync("gw-nobody", metadata: "not json");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData(250, "250ms")]
    [InlineData(1_000, "1s")]
    [InlineData(1_500, "1.5s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(3_723_000, "1h2m3s")]
    public void ResetDurations_AreWrittenLikeOpenAi(long milliseconds, string expected) =>
        Assert.Equal(expected, RateLimitHeaders.FormatDuration(milliseconds));

    private async Task<HttpResponseMessage> PostAsync(string token, string? requestId = null, string? metadata = null, string body = Body)
    {
        using var client = app.CreateClient(token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (requestId is not null)
        {
            request.Headers.Add("x-request-id", requestId);
        }

        if (metadata is not null)
        {
            request.Headers.TryAddWithoutValidation(GatewayMetadata.HeaderName, metadata);
        }

        return await client.SendAsync(request, Cancellation);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}

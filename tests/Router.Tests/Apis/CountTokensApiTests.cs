using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using Gateway.Aspire.Router.Usage;

namespace Gateway.Aspire.Router.Tests.Apis;

/// <summary>Anthropic's <c>/v1/messages/count_tokens</c>: relayed to Anthropic models, counted by the gateway for the others.</summary>
public sealed class CountTokensApiTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static string Body(string model) =>
        $$"""{"model":"{{model}}","system":"Be brief.","messages":[{"role":"user","content":"How many tokens is this question?"}]}""";

    private async Task<(HttpResponseMessage Response, JsonElement Json)> CountAsync(string body, string? key = TestPolicy.GoodToken)
    {
        using var client = new HttpClient { BaseAddress = app.RouterUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/count_tokens") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        request.Headers.Add("anthropic-version", "2023-06-01");
        var response = await client.SendAsync(request, Cancellation);
        return (response, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone());
    }

    [Fact]
    public async Task Anthropic_model_answers_its_own_count()
    {
        var (response, json) = await CountAsync(Body("claude/sonnet"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anthropic", response.Headers.GetValues("x-gateway-provider").Single());
        // The mock counts words of the system prompt and the turn, as its messages' input_tokens do.
        Assert.True(json.GetProperty("input_tokens").GetInt32() > 0);
    }

    [Fact]
    public async Task Other_models_are_counted_with_the_gateways_tokenizer()
    {
        var body = Body("mock/gpt-4o-mini");

        var (response, json) = await CountAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TokenEstimator.Shared.CountPrompt(Encoding.UTF8.GetBytes(body), "gpt-4o-mini"), json.GetProperty("input_tokens").GetInt32());
    }

    [Theory]
    [InlineData("""{"model":"mock/gpt-4o-mini"}""", TestPolicy.GoodToken, 400, "invalid_request_error")]
    [InlineData("""{"model":"mock/nope","messages":[{"role":"user","content":"hi"}]}""", TestPolicy.GoodToken, 404, "not_found_error")]
    [InlineData("""{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", "gw-vat-wrong", 401, "authentication_error")]
    public async Task Errors_are_in_anthropics_shape(string body, string key, int status, string type)
    {
        var (response, json) = await CountAsync(body, key);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal(type, json.GetProperty("error").GetProperty("type").GetString());
    }
}

using System.ClientModel;
using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;
using OpenAI.Models;
using static Gateway.Aspire.Router.Tests.Providers.EndToEnd.GatewayClients;

namespace Gateway.Aspire.Router.Tests.Apis;

/// <summary>
/// <c>GET /v1/models/{id}</c> through the running router: gateway model ids contain a slash
/// (<c>account/model</c>), which clients send as it is (curl) or escaped (the OpenAI SDK).
/// </summary>
public sealed class ModelLookupApiTests(RouterAppFixture app)
{
    private async Task<(HttpStatusCode Status, JsonElement Json)> GetAsync(string path, string token = TestPolicy.GoodToken)
    {
        using var client = app.CreateClient(token);
        using var response = await client.GetAsync(path, Cancellation);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone());
    }

    [Theory]
    [InlineData("claude/sonnet", "claude")]
    [InlineData("gemini/flash", "gemini")]
    [InlineData("mock/embed", "mock")]
    public async Task Known_model_is_described(string id, string account)
    {
        var (status, json) = await GetAsync("/v1/models/" + id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(id, json.GetProperty("id").GetString());
        Assert.Equal("model", json.GetProperty("object").GetString());
        Assert.Equal(account, json.GetProperty("owned_by").GetString());
        Assert.True(json.GetProperty("created").GetInt64() > 0);
    }

    [Fact]
    public async Task Openai_sdk_finds_a_model_by_its_escaped_id()
    {
        var models = new OpenAIModelClient(new ApiKeyCredential(TestPolicy.GoodToken), OpenAiOptions(app));

        OpenAIModel model = await models.GetModelAsync("claude/sonnet", Cancellation);

        Assert.Equal("claude/sonnet", model.Id);
        Assert.Equal("claude", model.OwnedBy);
    }

    [Fact]
    public async Task Unknown_model_is_404_in_openai_format()
    {
        var (status, json) = await GetAsync("/v1/models/claude/opus-9");

        Assert.Equal(HttpStatusCode.NotFound, status);
        var error = json.GetProperty("error");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains("'claude/opus-9'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Model_the_key_may_not_use_is_404_like_an_unknown_one()
    {
        var (denied, json) = await GetAsync("/v1/models/claude/sonnet", TestPolicy.RestrictedToken);
        var (allowed, _) = await GetAsync("/v1/models/mock/gpt-4o", TestPolicy.RestrictedToken);

        Assert.Equal(HttpStatusCode.NotFound, denied);
        Assert.Equal("model_not_found", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, allowed);
    }

    [Fact]
    public async Task Openai_sdk_raises_404_for_an_unknown_model()
    {
        var models = new OpenAIModelClient(new ApiKeyCredential(TestPolicy.GoodToken), OpenAiOptions(app));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("claude/opus-9", Cancellation));

        Assert.Equal(404, error.Status);
    }
}

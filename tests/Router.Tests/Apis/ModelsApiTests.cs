using System.Net;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Apis;

public sealed class ModelsApiTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Lists_every_catalog_model_for_an_unrestricted_key()
    {
        using var client = app.CreateClient();
        var json = JsonDocument.Parse(await client.GetStringAsync("/v1/models", Cancellation)).RootElement;

        Assert.Equal("list", json.GetProperty("object").GetString());
        var ids = json.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("mock/gpt-4o-mini", ids);
        Assert.Contains("slow/gpt-4o", ids);
        var first = json.GetProperty("data")[0];
        Assert.Equal("model", first.GetProperty("object").GetString());
        Assert.Equal("mock", first.GetProperty("owned_by").GetString());
        Assert.True(first.GetProperty("created").GetInt64() > 0);
    }

    [Fact]
    public async Task Lists_only_allowed_models_for_a_restricted_key()
    {
        using var client = app.CreateClient(TestPolicy.RestrictedToken);
        var json = JsonDocument.Parse(await client.GetStringAsync("/v1/models", Cancellation)).RootElement;

        Assert.Equal(["mock/gpt-4o"], json.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Bad_key_is_401()
    {
        using var client = app.CreateClient("gw-nope");
        using var response = await client.GetAsync("/v1/models", Cancellation);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

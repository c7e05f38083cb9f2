using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Tests.TestHosts;

namespace Gateway.Aspire.Router.Tests.Apis;

public sealed class AdminApiTests(RouterAppFixture app)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, JsonElement Json)> CreateAsync(string? adminKey, string body)
    {
        using var client = app.CreateClient(adminKey);
        using var response = await client.PostAsync("/admin/v1/tokens", new StringContent(body, Encoding.UTF8, "application/json"), Cancellation);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancellation)).RootElement.Clone());
    }

    [Fact]
    public async Task Admin_key_creates_a_token_through_policy()
    {
        var (status, json) = await CreateAsync(TestPolicy.AdminKey, """{"name":"ci","models":["mock/gpt-4o-mini"]}""");

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("tok-new", json.GetProperty("id").GetString());
        Assert.Equal("ci", json.GetProperty("name").GetString());
        Assert.Equal("gw-new-secret", json.GetProperty("token").GetString());
        Assert.Equal("mock/gpt-4o-mini", json.GetProperty("models")[0].GetString());
    }

    [Fact]
    public async Task Wrong_or_missing_admin_key_is_401()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await CreateAsync("wrong", """{"name":"ci"}""")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CreateAsync(null, """{"name":"ci"}""")).Status);
    }

    [Theory]
    [InlineData("{nope")]
    [InlineData("""{"models":[]}""")]
    [InlineData("""{"name":"ci","models":["mock/unknown"]}""")]
    public async Task Invalid_body_is_400(string body)
    {
        var (status, json) = await CreateAsync(TestPolicy.AdminKey, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
    }
}

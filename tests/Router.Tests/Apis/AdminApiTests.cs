using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Router.Apis;
using Gateway.Aspire.Router.Tests.TestHosts;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

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

    [Theory]
    [InlineData("""{"name":"ci","models":"mock/gpt-4o-mini"}""", "models")]
    [InlineData("""{"name":"ci","expires_at":"tomorrow"}""", "expires_at")]
    [InlineData("""{"name":["ci"]}""", "name")]
    public async Task A_field_of_the_wrong_type_is_400_naming_it(string body, string field)
    {
        var (status, json) = await CreateAsync(TestPolicy.AdminKey, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, json.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains($"'{field}'", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StatusCode.Unauthenticated, 401, "authentication_error")]
    [InlineData(StatusCode.PermissionDenied, 403, "permission_error")]
    [InlineData(StatusCode.InvalidArgument, 400, "invalid_request_error")]
    [InlineData(StatusCode.NotFound, 404, "invalid_request_error")]
    [InlineData(StatusCode.AlreadyExists, 409, "invalid_request_error")]
    [InlineData(StatusCode.FailedPrecondition, 409, "invalid_request_error")]
    [InlineData(StatusCode.Unavailable, 503, "service_unavailable")]
    public async Task Policy_status_becomes_the_HTTP_status_with_the_param_trailer(StatusCode code, int http, string type)
    {
        var error = new RpcException(new Status(code, "detail"), new Metadata { { "param", "team" } });
        var context = new DefaultHttpContext { RequestServices = app.Router.Services };
        context.Response.Body = new MemoryStream();

        await AdminApi.FromRpc(error).ExecuteAsync(context);

        Assert.Equal(http, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        var body = JsonDocument.Parse(context.Response.Body).RootElement.GetProperty("error");
        Assert.Equal(type, body.GetProperty("type").GetString());
        if (http is 400 or 404 or 409)
        {
            Assert.Equal(("detail", "team"), (body.GetProperty("message").GetString(), body.GetProperty("param").GetString()));
        }
    }
}

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>
/// The admin API end to end (router → policy → PostgreSQL/Redis, all real): teams, users, virtual
/// accounts and their tokens over HTTP, then what a client holding those tokens sees through the
/// official OpenAI SDK. Names carry the test's prefix so tests sharing the app do not collide.
/// </summary>
public sealed class AdminIdentitiesEndToEndTests(GatewayAppFixture app) : IClassFixture<GatewayAppFixture>
{
    private const string Chat = "mock/gpt-4o-mini";
    private const string Claude = "mock-claude/sonnet";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Virtual_account_token_may_use_only_its_models_and_gets_403_in_OpenAI_format_for_others()
    {
        await AdminAsync(HttpMethod.Post, "/admin/v1/teams", """{"name": "va-platform"}""", HttpStatusCode.Created);
        var created = await AdminAsync(HttpMethod.Post, "/admin/v1/tokens",
            $$"""{"name": "va-billing", "team": "va-platform", "models": ["{{Chat}}"]}""", HttpStatusCode.Created);

        Assert.Equal("virtual-account", created.GetProperty("kind").GetString());
        Assert.Equal("va-platform", created.GetProperty("team").GetString());
        var secret = created.GetProperty("token").GetString()!;
        Assert.StartsWith("gw-vat-", secret, StringComparison.Ordinal);

        var models = await new OpenAIClient(new ApiKeyCredential(secret), Options()).GetOpenAIModelClient().GetModelsAsync(Cancellation);
        Assert.Equal([Chat], models.Value.Select(m => m.Id));
        await ChatClient(Chat, secret).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation);

        var denied = await Assert.ThrowsAsync<ClientResultException>(() =>
            ChatClient(Claude, secret).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation));

        Assert.Equal(403, denied.Status);
        using var body = JsonDocument.Parse(denied.GetRawResponse()!.Content.ToString());
        var error = body.RootElement.GetProperty("error");
        Assert.Equal(("permission_error", "model_not_allowed", "model"),
            (error.GetProperty("type").GetString(), error.GetProperty("code").GetString(), error.GetProperty("param").GetString()));
        Assert.Contains(Claude, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Personal_token_inherits_its_users_team_models()
    {
        await AdminAsync(HttpMethod.Post, "/admin/v1/users", """{"name": "pat-alice", "email": "alice@example.com"}""", HttpStatusCode.Created);
        var team = await AdminAsync(HttpMethod.Post, "/admin/v1/teams",
            $$"""{"name": "pat-chat-only", "models": ["{{Chat}}"], "members": ["pat-alice"]}""", HttpStatusCode.Created);
        Assert.Equal("pat-alice", team.GetProperty("members")[0].GetProperty("user").GetString());

        var pat = await AdminAsync(HttpMethod.Post, "/admin/v1/tokens", """{"name": "laptop", "kind": "personal", "user": "pat-alice"}""", HttpStatusCode.Created);

        var secret = pat.GetProperty("token").GetString()!;
        Assert.StartsWith("gw-pat-", secret, StringComparison.Ordinal);
        Assert.Equal(("personal", "pat-alice"), (pat.GetProperty("kind").GetString(), pat.GetProperty("user").GetString()));
        Assert.Equal([Chat], pat.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        await ChatClient(Chat, secret).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation);
        var denied = await Assert.ThrowsAsync<ClientResultException>(() =>
            ChatClient(Claude, secret).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation));
        Assert.Equal(403, denied.Status);
    }

    [Fact]
    public async Task Tokens_are_listed_without_secrets_rotated_and_revoked_over_HTTP()
    {
        var created = await AdminAsync(HttpMethod.Post, "/admin/v1/tokens", """{"name": "life-ci"}""", HttpStatusCode.Created);
        var (id, secret) = (created.GetProperty("id").GetString()!, created.GetProperty("token").GetString()!);

        var list = await AdminAsync(HttpMethod.Get, "/admin/v1/tokens", null, HttpStatusCode.OK);
        var listed = list.GetProperty("data").EnumerateArray().Single(t => t.GetProperty("id").GetString() == id);
        Assert.Equal(secret[..11] + "…" + secret[^4..], listed.GetProperty("display").GetString());
        Assert.False(listed.TryGetProperty("token", out _));
        Assert.DoesNotContain(secret, list.GetRawText(), StringComparison.Ordinal);

        // Rotation without grace: the old secret stops at once, the new one works.
        var rotated = await AdminAsync(HttpMethod.Post, $"/admin/v1/tokens/{id}/rotate", """{"grace_seconds": 0}""", HttpStatusCode.Created);
        var (newId, newSecret) = (rotated.GetProperty("id").GetString()!, rotated.GetProperty("token").GetString()!);
        Assert.Equal(id, rotated.GetProperty("replaced_id").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatStatusAsync(secret));
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(newSecret));

        // A default rotation keeps the old secret working (24 h grace).
        var graced = await AdminAsync(HttpMethod.Post, $"/admin/v1/tokens/{newId}/rotate", null, HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(newSecret));
        Assert.True(graced.GetProperty("replaced_expires_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23));

        await AdminAsync(HttpMethod.Delete, $"/admin/v1/tokens/{newId}", null, HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatStatusAsync(newSecret));
        var again = await AdminAsync(HttpMethod.Delete, $"/admin/v1/tokens/{newId}", null, HttpStatusCode.NotFound);
        Assert.Equal(("invalid_request_error", "id"), (again.GetProperty("error").GetProperty("type").GetString(), again.GetProperty("error").GetProperty("param").GetString()));
    }

    [Fact]
    public async Task Admin_endpoints_need_an_admin_credential()
    {
        await AdminAsync(HttpMethod.Post, "/admin/v1/users", """{"name": "auth-root", "admin": true}""", HttpStatusCode.Created);
        await AdminAsync(HttpMethod.Post, "/admin/v1/users", """{"name": "auth-dev"}""", HttpStatusCode.Created);
        var root = (await AdminAsync(HttpMethod.Post, "/admin/v1/tokens", """{"name": "t", "kind": "personal", "user": "auth-root"}""", HttpStatusCode.Created)).GetProperty("token").GetString()!;
        var dev = (await AdminAsync(HttpMethod.Post, "/admin/v1/tokens", """{"name": "t", "kind": "personal", "user": "auth-dev"}""", HttpStatusCode.Created)).GetProperty("token").GetString()!;
        var appToken = await app.CreateTokenAsync("auth-app", Cancellation);

        foreach (var path in new[] { "/admin/v1/tokens", "/admin/v1/users", "/admin/v1/teams", "/admin/v1/virtual-accounts" })
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, path, null, root)).Status);
            foreach (var nonAdmin in new[] { dev, appToken })
            {
                var (status, json) = await SendAsync(HttpMethod.Get, path, null, nonAdmin);
                Assert.Equal(HttpStatusCode.Forbidden, status);
                Assert.Equal("permission_error", json.GetProperty("error").GetProperty("type").GetString());
            }

            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, path, null, null)).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, path, null, "wrong-key")).Status);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Post, "/admin/v1/tokens", """{"name": "sneaky"}""", dev)).Status);
    }

    [Fact]
    public async Task Bad_requests_name_the_field_and_duplicates_are_409()
    {
        await AdminAsync(HttpMethod.Post, "/admin/v1/users", """{"name": "dup-user"}""", HttpStatusCode.Created);

        var duplicate = await AdminAsync(HttpMethod.Post, "/admin/v1/users", """{"name": "dup-user"}""", HttpStatusCode.Conflict);
        var wrongType = await AdminAsync(HttpMethod.Post, "/admin/v1/users", """{"name": 5}""", HttpStatusCode.BadRequest);
        var wrongKind = await AdminAsync(HttpMethod.Post, "/admin/v1/tokens", """{"name": "x", "kind": "robot"}""", HttpStatusCode.BadRequest);
        var noModels = await AdminAsync(HttpMethod.Post, "/admin/v1/virtual-accounts", """{"name": "dup-va", "team": "nope"}""", HttpStatusCode.BadRequest);
        var noTeam = await AdminAsync(HttpMethod.Post, "/admin/v1/virtual-accounts", $$"""{"name": "dup-va", "team": "nope", "models": ["{{Chat}}"]}""", HttpStatusCode.NotFound);
        var unknownUser = await AdminAsync(HttpMethod.Delete, "/admin/v1/users/nobody-at-all", null, HttpStatusCode.NotFound);

        Assert.Equal("A user named 'dup-user' already exists.", duplicate.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("name", wrongType.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("kind", wrongKind.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("models", noModels.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("team", noTeam.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("nobody-at-all", unknownUser.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> AdminAsync(HttpMethod method, string path, string? body, HttpStatusCode expected)
    {
        var (status, json) = await SendAsync(method, path, body, app.AdminKey);
        Assert.True(status == expected, $"{method} {path} answered {(int)status}, expected {(int)expected}: {json}");
        return json;
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpMethod method, string path, string? body, string? credential)
    {
        using var http = new HttpClient { BaseAddress = app.RouterUrl };
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        using var response = await http.SendAsync(request, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<HttpStatusCode> ChatStatusAsync(string secret)
    {
        try
        {
            await ChatClient(Chat, secret).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation);
            return HttpStatusCode.OK;
        }
        catch (ClientResultException e)
        {
            return (HttpStatusCode)e.Status;
        }
    }

    private ChatClient ChatClient(string model, string secret) => new(model, new ApiKeyCredential(secret), Options());

    // No SDK retries: a refused call must surface as is.
    private OpenAIClientOptions Options() => new() { Endpoint = new Uri(app.RouterUrl, "/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };
}

using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Aspire.Testing;
using OpenAI;
using OpenAI.Moderations;

namespace Gateway.Aspire.AppHost.Tests.EndToEnd;

/// <summary>
/// <c>POST /v1/moderations</c> answered by the guardrails service's own classifier through the whole
/// application, driven by the official OpenAI SDK exactly as it would call OpenAI.
/// </summary>
public sealed class ModerationEndToEndTests(GatewayAppFixture app) : IClassFixture<GatewayAppFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<ModerationClient> ClientAsync() =>
        new("omni-moderation-latest", new ApiKeyCredential(await app.CreateTokenAsync("e2e-moderation", Cancellation)),
            new OpenAIClientOptions { Endpoint = new Uri(app.RouterUrl, "/v1") });

    [Fact]
    public async Task Openai_sdk_gets_a_flagged_threat_and_a_clean_technical_sentence()
    {
        var client = await ClientAsync();

        ModerationResultCollection results = await client.ClassifyTextAsync(
            ["I will find you and kill you.", "Kill the process with SIGTERM before restarting the server."], Cancellation);

        Assert.Equal(2, results.Count);
        Assert.True(results[0].Flagged);
        Assert.True(results[0].Violence.Flagged);
        Assert.True(results[0].Violence.Score > 0.5f);
        Assert.False(results[1].Flagged);
        Assert.False(results[1].Violence.Flagged);
    }

    [Fact]
    public async Task Bad_key_and_missing_input_get_openai_errors()
    {
        using var http = new HttpClient { BaseAddress = app.RouterUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", "gw-vat-not-a-key");
        using var unauthorized = await http.PostAsync("/v1/moderations", new StringContent("""{"input":"hello"}""", Encoding.UTF8, "application/json"), Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);

        http.DefaultRequestHeaders.Authorization = new("Bearer", await app.CreateTokenAsync("e2e-moderation-bad", Cancellation));
        using var missing = await http.PostAsync("/v1/moderations", new StringContent("""{"model":"omni-moderation-latest"}""", Encoding.UTF8, "application/json"), Cancellation);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        using var json = JsonDocument.Parse(await missing.Content.ReadAsStringAsync(Cancellation));
        Assert.Contains("'input' is required", json.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
